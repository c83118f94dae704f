let f = { alpha }: alpha; in f { alpha = 1; alpah = 2; }
