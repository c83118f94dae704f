let s = { }; y = "y"; in s."a b".${y}.${"z"}
