"""What the LangGraph server API needs from the project besides the graph: its auth handler."""
