def a():
    pass

def b():
    pass
# appended
