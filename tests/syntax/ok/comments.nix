/* block */ 1 # line
 + /* inner * / ** */ 2
