{ a = ''abc; }
