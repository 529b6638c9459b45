"""Candidate scoring: the log-likelihood of each candidate answer after each prompt.

Used for classification instead of free generation: the label the model finds most likely
wins, so a small model cannot answer off-format. A mixin of `core.models.local.LocalBackend`
(it uses the backend's model, tokenizer, prompt rendering and shared-prefix plan); kept apart
because it is a second way of running the model with its own batching of candidates.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.models.base import ChatPrompt, ModelError
from core.models.prefix import batch_cache, fits_window, suffix_batch

# Candidate positions (rows x fed candidate tokens) one pass may hold: each keeps a row of
# logits over the vocabulary (SmolLM2: 49,152), so 150 intent names x 16 rows once held
# several GB. Rows with many candidates run in smaller batches instead.
CANDIDATE_POSITIONS = 4096
LSE_CHUNK = 1024  # positions whose log-sum-exp is taken at once (fp32 copies stay small)


@dataclass
class CandidateScores:
    """Log-likelihood of each candidate answer after one prompt."""

    logprobs: list[float]
    n_tokens: list[int]
    input_tokens: int
    latency_s: float

    @property
    def best(self) -> int:
        return max(range(len(self.logprobs)), key=lambda i: self.logprobs[i])


class CandidateScoring:
    """Needs `model`, `tok`, `device`, `chat`, `_lock`, `_keep_logits`, `render`, `encode`
    and `_plan` from the backend it is mixed into."""

    def score_candidates(self, prompts: list[ChatPrompt], candidates: list[str],
                         batch_size: int = 16) -> list[CandidateScores]:
        """Sum of log-probabilities of each candidate as the answer to each prompt.

        Used for classification instead of free generation: the label the model
        finds most likely wins, so a small model cannot answer off-format. The prefix
        every prompt shares is computed once; each prompt's own tokens run once, with
        logits only at its last position; its key/value cache is then shared by all
        candidates, so scoring C labels costs about one pass over the prompt's own
        tokens, not C. Single-token candidates need no second pass at all.
        """

        import torch

        if not candidates:
            raise ModelError("Candidate scoring needs at least one candidate answer.")
        texts = [self.render(p) for p in prompts]
        p_ids = [self.encode(t) for t in texts]
        c_ids = []
        for t in texts:
            sep = "" if self.chat or t[-1:].isspace() else " "
            c_ids.append([self.tok(sep + c, add_special_tokens=False)["input_ids"]
                          for c in candidates])
        longest_c = max(len(c) for row in c_ids for c in row)
        fed = max(1, max(len(candidate_tree(row)) for row in c_ids))
        rows = max(1, min(batch_size, CANDIDATE_POSITIONS // fed))
        results: list[CandidateScores | None] = [None] * len(prompts)
        for idx, p, kv in self._plan(p_ids, rows, longest_c * len(candidates)):
            with self._lock, torch.inference_mode():
                t0 = time.perf_counter()
                lps = self._score_batch([p_ids[i][p:] for i in idx], [c_ids[i] for i in idx],
                                        p, kv)
                dt = time.perf_counter() - t0
            for i, lp in zip(idx, lps, strict=True):
                results[i] = CandidateScores(lp, [len(c) for c in c_ids[i]], len(p_ids[i]),
                                             dt / len(idx))
        return results  # type: ignore[return-value]

    def _score_batch(self, prompts: list[list[int]], cands: list[list[list[int]]], p: int = 0,
                     kv: list | None = None) -> list[list[float]]:
        """Log-likelihoods of each row's candidates; `prompts` are the parts after a shared
        prefix of `p` tokens whose keys/values are `kv` (p = 0: whole prompts)."""
        import torch

        dev, pad = self.device, self.tok.pad_token_id
        b = len(prompts)
        ids, mask, pos = suffix_batch(p, prompts, pad, dev)
        fwd = dict(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True)
        if kv is not None:
            fwd["cache"] = batch_cache(self.model, kv, b)
        if self._keep_logits:
            fwd["logits_to_keep"] = 1
        out = self.model(**fwd)
        first = torch.log_softmax(out.logits[:, -1].float(), -1)  # predicts candidate token 0
        if max(len(c) for row in cands for c in row) == 1:
            return [[float(first[i, c[0]]) for c in row] for i, row in enumerate(cands)]
        width = max(sum(len(c) for c in row) for row in cands)
        if fits_window(self.model, mask.shape[1] + width):
            return self._candidate_pass(out.cache, mask, pos, cands, first)
        return self._candidate_pass_repeated(out.cache, mask, pos, cands, first)

    def _candidate_pass_repeated(self, cache, mask, pos, cands, first) -> list[list[float]]:
        """Multi-token candidates as B x C rows over a repeated prompt cache: the path for
        rows longer than a sliding window, where a custom 4D mask cannot be used."""
        import torch

        dev, pad = self.device, self.tok.pad_token_id
        n_c = len(cands[0])
        cache.batch_repeat_interleave(n_c)
        flat = [c for row in cands for c in row]  # b * n_c candidates, prompt-major
        clen = max(len(c) for c in flat)
        c_tok = torch.tensor([c + [pad] * (clen - len(c)) for c in flat], device=dev)
        c_mask = torch.tensor([[1] * len(c) + [0] * (clen - len(c)) for c in flat], device=dev)
        full_mask = torch.cat([mask.repeat_interleave(n_c, 0), c_mask], dim=1)
        start = pos[:, -1:].repeat_interleave(n_c, 0) + 1
        c_pos = start + torch.arange(clen, device=dev).unsqueeze(0)
        logits = self.model(input_ids=c_tok, attention_mask=full_mask, position_ids=c_pos,
                            cache=cache, use_cache=False).logits.float()
        rest = torch.log_softmax(logits, -1)
        scores = []
        for pi, row in enumerate(cands):
            out = []
            for ci, c in enumerate(row):
                k = pi * n_c + ci
                out.append(float(first[pi, c[0]]) + sum(float(rest[k, j - 1, c[j]])
                                                       for j in range(1, len(c))))
            scores.append(out)
        return scores

    def _candidate_pass(self, cache, mask, pos, cands, first) -> list[list[float]]:
        """Log-likelihoods of multi-token candidates in one pass over B rows.

        Each row's candidates are laid out as a prefix tree after its prompt: a token
        sequence several candidates begin with ("change_" of change_accent and
        change_language) is fed once, and a 4D mask lets every tree node see the prompt and
        its own ancestors only, so the prompt's keys and values are read once per row
        rather than once per candidate.
        """
        import numpy as np
        import torch

        dev, pad = self.device, self.tok.pad_token_id
        b = len(cands)
        # a candidate's last token predicts nothing that is scored: only its first n-1 tokens
        # are fed (the first is scored from the prompt pass); a node is a fed prefix
        trees = [candidate_tree(row) for row in cands]
        width = max(len(t) for t in trees)
        prompt_len = mask.shape[1]
        # built in numpy (thousands of tiny torch ops cost more than the pass itself)
        ids = np.full((b, width), pad, dtype=np.int64)
        allowed = np.zeros((b, 1, width, prompt_len + width), dtype=bool)
        c_pos = np.zeros((b, width), dtype=np.int64)
        keep = np.zeros((b, width), dtype=bool)
        prompt_mask = mask.bool().cpu().numpy()
        starts = (pos[:, -1] + 1).cpu().numpy()
        for r, tree in enumerate(trees):
            for prefix, slot in tree.items():
                ids[r, slot] = prefix[-1]
                c_pos[r, slot] = starts[r] + len(prefix) - 1
                allowed[r, 0, slot, :prompt_len] = prompt_mask[r]
                for j in range(1, len(prefix) + 1):  # its ancestors and itself
                    allowed[r, 0, slot, prompt_len + tree[prefix[:j]]] = True
                keep[r, slot] = True
            allowed[r, 0, len(tree):, 0] = True  # padding queries: attend somewhere, ignored
        ids, c_pos = torch.from_numpy(ids).to(dev), torch.from_numpy(c_pos).to(dev)
        allowed, keep = torch.from_numpy(allowed).to(dev), torch.from_numpy(keep).to(dev)
        if getattr(self.model.config, "_attn_implementation", "sdpa") != "sdpa":
            low = torch.finfo(self.model.dtype).min  # eager attention adds the mask
            allowed = torch.zeros(allowed.shape, dtype=self.model.dtype, device=dev).masked_fill(
                ~allowed, low)
        fwd = dict(input_ids=ids, attention_mask=allowed, position_ids=c_pos, cache=cache,
                   use_cache=False)
        if self._keep_logits:
            logits = self.model(**fwd, logits_to_keep=keep).logits
        else:
            logits = self.model(**fwd).logits[keep]
        # kept rows are the nodes, row-major; a node's logits predict each of its children
        offsets = np.cumsum([0] + [len(t) for t in trees])
        node, token = [], []
        for r, (row, tree) in enumerate(zip(cands, trees, strict=True)):
            for c in row:
                node += [offsets[r] + tree[tuple(c[:j])] for j in range(1, len(c))]
                token += c[1:]
        node_t = torch.tensor(node, dtype=torch.long, device=logits.device)
        token_t = torch.tensor(token, dtype=torch.long, device=logits.device)
        lse = torch.cat([torch.logsumexp(logits[i:i + LSE_CHUNK].float(), -1)
                         for i in range(0, logits.shape[0], LSE_CHUNK)])
        logp = (logits[node_t, token_t].float() - lse[node_t]).tolist()
        scores, k = [], 0
        for r, row in enumerate(cands):
            out = []
            for c in row:
                out.append(float(first[r, c[0]]) + sum(logp[k:k + len(c) - 1]))
                k += len(c) - 1
            scores.append(out)
        return scores


def candidate_tree(cands: list[list[int]]) -> dict[tuple[int, ...], int]:
    """The fed prefixes of candidates' token ids (each candidate but its last token), each
    once, numbered parents first: the nodes of a row's candidate tree.

    >>> candidate_tree([[5, 6, 7], [5, 6, 8], [5, 9], [4]])
    {(5,): 0, (5, 6): 1}
    """
    tree: dict[tuple[int, ...], int] = {}
    for c in cands:
        for j in range(1, len(c)):
            tree.setdefault(tuple(c[:j]), len(tree))
    return tree
