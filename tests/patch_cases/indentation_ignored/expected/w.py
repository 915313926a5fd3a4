if x:
        y = 10
        z = 2
