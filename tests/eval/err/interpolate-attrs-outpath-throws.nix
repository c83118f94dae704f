let x = { type = "derivation"; outPath = throw "no out"; }; in "${x}"
