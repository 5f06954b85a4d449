"""A language-model pass's DRAM traffic by what the bytes are: weights, KV cache, activations.

The engine reports each layer's DRAM bytes by tensor kind (``weight_read``, ``input_read``,
``output_write``, ``spill_write``, ``metadata``; :data:`npusim.results.TRAFFIC_KINDS`). A
decoder pass (the Llama workloads, see :mod:`npusim.llm.zoo`) gives them these meanings:

- a matmul has no weights, so its stored operand read from DRAM is the KV cache (``kv_read``);
- an output no layer of the pass reads, of a projection or its rotary embedding, other than
  the last layer's (the logits), is a new K or V row appended to the cache (``kv_write``;
  :meth:`~npusim.workload.graph.Graph.kv_appends`), stored at ``precision.kv_cache``;
  an unread output of any other layer (a prefill's final hidden states,
  :func:`~.zoo.llama_layers`) is an activation;
- every other ``weight_read`` is a weight (``weights``); layer inputs and outputs that cross
  the DRAM pins, and spills, are ``activations``;
- quantization scales and zero points of any of them are ``metadata``.

The five kinds add up to the pass's DRAM reads plus writes.
"""

from __future__ import annotations

from npusim.results import RunResult
from npusim.workload import Workload

LLM_KINDS = ("weights", "kv_read", "kv_write", "activations", "metadata")
"""DRAM bytes of a decoder pass by what they carry (module docstring); they add up to the
DRAM reads plus writes."""


def llm_bytes_by_kind(result: RunResult, workload: Workload) -> dict[str, int]:
    """DRAM bytes of ``result`` (a run of ``workload``) by :data:`LLM_KINDS`."""
    appends = workload.graph.kv_appends()
    out = dict.fromkeys(LLM_KINDS, 0)
    for layer in result.layers:
        extra = layer.extra
        stored = int(extra.get("weight_read_bytes", 0))
        out["kv_read" if layer.type == "matmul" else "weights"] += stored
        written = int(extra.get("output_write_bytes", 0))
        out["kv_write" if layer.name in appends else "activations"] += written
        out["activations"] += int(extra.get("input_read_bytes", 0))
        out["activations"] += int(extra.get("spill_write_bytes", 0))
        out["metadata"] += int(extra.get("metadata_bytes", 0))
    return out
