"""Activities: everything a flow does with side effects, run outside the workflow sandbox."""
