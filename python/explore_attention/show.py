"""The Attention Explorer's views inside a notebook, as BertViz does for PyTorch users.

    from explore_attention import show
    show.head_view("models/gpt-words", "The whale swam. The whale dived.")

Each call builds the explorer's own page for one text with every answer embedded (what `attn viz` writes: the same
front end, computed by the same engine) and shows it in an <iframe srcdoc> — no server, no network, no CDN. The
page keeps all its views; the function picks the tab it opens on. `generation` records a generation when the page
is made and opens the GPT explorer on it, to step through token by token (a new prompt needs the live explorer:
`bash scripts/run.sh`).
"""
import html as _html

from . import _core

_VIEWS = ("heads", "model", "matrix", "neuron", "types", "relevance")


class View:
    """An explorer page: shown inline by Jupyter (_repr_html_), or written with save(path)."""

    def __init__(self, page, height):
        self.page = page
        self.height = height

    def _repr_html_(self):
        return (f'<iframe srcdoc="{_html.escape(self.page, quote=True)}" style="width:100%;height:{self.height}px;'
                f'border:1px solid #ddd" sandbox="allow-scripts allow-downloads"></iframe>')

    def save(self, path):
        """Writes the standalone page (it opens offline in any browser)."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.page)
        return path


def _model_dir(model):
    if isinstance(model, str):
        return model
    if hasattr(model, "dir"):  # an explore_attention.GPT
        return model.dir
    raise TypeError(f"model: expected a GPT folder or an explore_attention.GPT, got {type(model).__name__}")


def view(model, text, view="heads", height=720):
    """The explorer on `text` opened on one of its tabs: heads, model, matrix, neuron, types, relevance."""
    if view not in _VIEWS:
        raise ValueError(f"view must be one of {', '.join(_VIEWS)}, got {view!r}")
    if not isinstance(text, str) or not text:
        raise ValueError("text must be a non-empty string")
    return View(_core.static_page(_model_dir(model), text, view), height)


def generation(model, prompt, max_new_tokens=20, temperature=0.0, top_k=0, top_p=1.0, seed=0, height=760):
    """The GPT explorer stepping through a generation: each new token, the weights it gave every earlier token
    (per layer and head), the 10 likeliest candidates and the KV cache. Temperature 0 is greedy."""
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("prompt must be a non-empty string")
    if not isinstance(max_new_tokens, int) or not 1 <= max_new_tokens <= 512:
        raise ValueError(f"max_new_tokens must be an int in [1, 512], got {max_new_tokens!r}")
    return View(_core.static_page(_model_dir(model), prompt, "generate", max_new_tokens=max_new_tokens, prompt=prompt,
                                  temperature=temperature, top_k=top_k, top_p=top_p, seed=seed), height)


def head_view(model, text, height=720):
    """Every head of one layer as lines from each token to the tokens it attends to (BertViz's head view)."""
    return view(model, text, "heads", height)


def model_view(model, text, height=720):
    """A thumbnail of every layer × head."""
    return view(model, text, "model", height)


def neuron_view(model, text, height=720):
    """How one query's q·k products add up to its scores, element by element."""
    return view(model, text, "neuron", height)


def matrix(model, text, height=720):
    """One head's (T, T) weights as a heatmap, with the mean and the rollout."""
    return view(model, text, "matrix", height)


def head_types(model, text, height=720):
    """Previous-token, first-token and induction scores of every head."""
    return view(model, text, "types", height)
