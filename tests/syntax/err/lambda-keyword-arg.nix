if: 1
