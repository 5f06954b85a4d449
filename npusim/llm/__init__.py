"""On-device LLM inference: generation runs (prefill, then decode with the KV cache growing)
over the public :func:`npusim.simulate.simulate` API, with per-phase figures (time to first
token, tokens/s, J/token by component, DRAM bytes per token by kind) and the Llama-3 decoder
builder (:mod:`~.zoo`)."""
