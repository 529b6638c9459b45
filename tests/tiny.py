"""Tiny causal LMs built from a config, with a word-level tokenizer made in code.

They load in milliseconds and need no download, so unit tests exercise the real
transformers code paths (generation, padding, log-likelihoods) without a real model.
"""

from __future__ import annotations

WORDS = (
    "<pad> <s> </s> <unk> the sky is blue green red yes no question answer : . ? "
    "a b c d e f g h i j k l m n o p q r s t u v w x y z cat dog paris france capital of"
).split()

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} </s> {% endfor %}"
    "{% if add_generation_prompt %}assistant : {% endif %}"
)


def tiny_tokenizer(chat: bool = False):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(WORDS)}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
        unk_token="<unk>",
    )
    if chat:
        tok.chat_template = CHAT_TEMPLATE
    return tok


def tiny_llama(seed: int = 0, vocab_size: int = len(WORDS), context: int = 128):
    """A 2-layer Llama of random weights; `context`: its max_position_embeddings (prompts
    past it are refused by the evaluation, core/evals/fit.py)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=context,
        bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config).eval()
    model.generation_config.eos_token_id = 2
    model.generation_config.pad_token_id = 0
    return model
