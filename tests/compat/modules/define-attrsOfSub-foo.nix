{ attrsOfSub.foo = { }; }
