{ attrsOfSub.bar.label = "bar"; }
