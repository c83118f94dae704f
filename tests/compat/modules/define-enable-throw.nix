{ enable = throw "the enable definition throws"; }
