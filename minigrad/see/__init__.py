"""The explaining wing: names, pictures and formulas for a recorded graph (exercise sheet tasks 6.1 to 6.3).

It reads the core only through a tensor's public graph view and the op table (`minigrad.core.ops`):
`graph` names every tensor once (W1, b1, Z1, H, Yhat) for all pictures, `draw` turns a graph into
SVG, `backward` draws the graph of a gradient (create_graph=True) beside it, `scheme` draws the
network, `symbolic` and `explain` write the backward pass out, and
`explorer` (`explore`) makes a page that steps through one backward pass in a browser.
"""
from .backward import backward_description, draw_backward, draw_forward_and_backward, forward_and_backward_description
from .draw import RendererNotFoundError, draw_graph, graph_description, render_svg, save_svg
from .explain import BackwardExplanation, explain_backward
from .explorer import Exploration, explore
from .graph import inspect_graph
from .scheme import draw_network

__all__ = ["BackwardExplanation", "Exploration", "RendererNotFoundError", "backward_description", "draw_backward",
           "draw_forward_and_backward", "draw_graph", "draw_network", "explain_backward", "explore",
           "forward_and_backward_description", "graph_description", "inspect_graph", "render_svg", "save_svg"]
