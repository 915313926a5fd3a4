"""The duet: a plan model writes a short plan before the driver starts, the driver (execute) does the work with
its tools, a review model checks the finished diff and sends requested changes back, and an escalation hands
the next model a shaped brief instead of the whole conversation. Each side call gets a context shaped for its
role (never the driver's repository pack), respects the budget's pre-flight estimate and is tagged with its role.

Orchestrated around the loop (`Agent.run`) and `fix-tests`, never inside them."""
