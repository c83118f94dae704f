import <here/function.nix> { a = 40; }
