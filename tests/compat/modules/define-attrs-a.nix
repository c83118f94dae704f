{ shallow = { a.b = 1; x = 1; }; }
