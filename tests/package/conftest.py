"""The driver of the Python package test collects only itself: the sample suite beside it
needs the installed daxd wheel and runs inside the venv that test_wheel.py makes."""
collect_ignore = ["sample"]
