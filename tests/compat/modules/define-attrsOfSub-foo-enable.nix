{ attrsOfSub.foo.enable = true; }
