# nix 2.8 prints a cyclic value as XML until memory runs out; kiln stops at 10 000 levels.
builtins.toXML (let x = { a = x; }; in x)
