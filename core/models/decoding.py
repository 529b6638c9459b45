"""What `model.generate` gets besides the prompt: stop strings and repetition controls.

Both act on the answer only. A stop string is looked for after the answer's leading
whitespace (a model that opens with a line break has not answered yet), and the
repetition controls see the generated tokens, never the prompt: transformers' own
`repetition_penalty` and `no_repeat_ngram_size` count the prompt too, so a data-to-text
answer could not repeat the venue name its prompt gives it, nor a phrase of a few-shot
example. Slicing at the prompt's width also makes a row's answer the same in a padded
batch, after a shared prefix (core.models.prefix) and alone.
"""

from __future__ import annotations

from core.models.base import JSON_CLOSE, GenerationParams, json_close


def generate_kwargs(params: GenerationParams, tok, width: int) -> dict:
    """Keyword arguments for `model.generate` on a batch whose prompts are `width` tokens
    wide (padding and any shared prefix included)."""
    kwargs: dict = dict(max_new_tokens=params.max_new_tokens, pad_token_id=tok.pad_token_id)
    if params.temperature > 0:
        kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    stops = [s for s in params.stop if s]
    if stops:
        kwargs["stopping_criteria"] = [StopOnStrings(tok, tuple(stops), width)]
    if params.repetition_penalty != 1.0 or params.no_repeat_ngram_size > 0:
        kwargs["logits_processor"] = [AnswerRepetition(width, params.repetition_penalty,
                                                       params.no_repeat_ngram_size)]
    return kwargs


class AnswerRepetition:
    """transformers' repetition penalty and n-gram ban, applied to the generated tokens only.

    `penalty` > 1 divides (multiplies, when negative) the logit of every token the answer
    already used; `ngram` > 0 forbids any n-gram of the answer from occurring twice.
    """

    def __init__(self, width: int, penalty: float = 1.0, ngram: int = 0):
        from core.hf import loading

        with loading():
            from transformers import NoRepeatNGramLogitsProcessor, RepetitionPenaltyLogitsProcessor
        self.width = width
        self.steps = []
        if penalty != 1.0:
            self.steps.append(RepetitionPenaltyLogitsProcessor(float(penalty)))
        if ngram > 0:
            self.steps.append(NoRepeatNGramLogitsProcessor(int(ngram)))

    def __call__(self, input_ids, scores):
        answer = input_ids[:, self.width:]
        if answer.shape[1] == 0:
            return scores
        for step in self.steps:
            scores = step(answer, scores)
        return scores


class StopOnStrings:
    """Stops each row once its answer, after leading whitespace, contains a stop string
    (`JSON_CLOSE`: once its first JSON object or array has closed).

    Works with any tokenizer (transformers' own `stop_strings` needs a byte-level
    vocabulary); decoding a row's few dozen answer tokens per step is cheap next to the
    step itself.
    """

    def __init__(self, tok, stops: tuple[str, ...], prompt_width: int):
        self.tok, self.width = tok, prompt_width
        self.json = JSON_CLOSE in stops
        self.stops = [s for s in stops if s and s != JSON_CLOSE]

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        texts = self.tok.batch_decode(input_ids[:, self.width:], skip_special_tokens=True)
        done = [any(s in t.lstrip() for s in self.stops)
                or (self.json and json_close(t) is not None) for t in texts]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)
