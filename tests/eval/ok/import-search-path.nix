import <corpus/value.nix>
