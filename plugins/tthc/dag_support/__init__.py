"""What the DAG files import at parse time (light): Assets, default arguments, notifiers."""
