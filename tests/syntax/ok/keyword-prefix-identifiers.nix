let iff = 1; within = 2; inheritance = 3; lets = 4; orr = 5; in [ iff within inheritance lets orr ]
