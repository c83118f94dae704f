{ shallow = { a.c = 2; }; }
