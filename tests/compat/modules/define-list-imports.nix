{ imports = [ ./define-list-1.nix ./define-list-2.nix ]; list = [ 3 ]; }
