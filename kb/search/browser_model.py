"""The full embedding model in the browser: `[search] browser_model = "full"` in kb.toml.

At build time the sentence-transformers model kb embeds with is exported to ONNX (torch.onnx),
int8 dynamic-quantized (onnxruntime.quantization, per channel) and cached in the vault's
`.kb-cache/`; the wasm build of onnxruntime-web is taken from its npm tarball, fetched once
over HTTPS with urllib (no Node), checked against a pinned sha512 and cached in ~/.cache/kb.
Both are copied into `site/search/model/`; templates/static/search-model.js loads them on the
visitor's first focus of the search box. If anything here fails, the build warns and the site
keeps the static encoder.

    python -m kb.search.browser_model fetch     # pre-fetch the runtime (`make setup` does)
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.vendor import NpmPackage, Unavailable, extract, fetch_command

ORT_WEB_VERSION = "1.30.0"
# sha512 integrity of onnxruntime-web-1.30.0.tgz, as registry.npmjs.org publishes it (dist.integrity)
ORT_WEB_INTEGRITY = "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="
# The smallest single-threaded-capable build: the wasm-only ESM bundle (the emscripten glue inlined) and
# its .wasm. It runs without cross-origin isolation (numThreads = 1). ort.all / jsep / jspi / asyncify
# builds add WebGPU/WebNN and are 2-12 MB larger.
ORT_WEB_FILES = {"package/dist/ort.wasm.bundle.min.mjs": "ort.wasm.bundle.min.mjs",
                 "package/dist/ort-wasm-simd-threaded.wasm": "ort-wasm-simd-threaded.wasm"}
MODEL_FILE = "model.onnx"
EXPORT_RECIPE = "1"  # bump when the export or quantization changes: the cache key includes it
OPSET = 17
MAX_TOKENS = 256  # kb embeds chunks with max_seq_length 256; queries are truncated alike
# Per-channel int8 weights, measured against torch float32 on the bench queries (mean / min cosine):
# per-tensor int8 0.968 / 0.948, per-tensor uint8 0.985 / 0.972, per-channel int8 0.9935 / 0.988
# (23.0 MB; float32 90.4 MB). End to end on obsidian-hub (87 queries, fused with BM25, index format 2):
# hit@10 / MRR@10 float32 ONNX 0.770 / 0.494 (= torch), per-channel int8 0.736 / 0.469, per-channel
# uint8 0.759 / 0.471, per-tensor int8 0.747 / 0.453; keeping the FFN output layers float32 (33.5 MB)
# 0.747 / 0.481, the attention outputs (25.6 MB) 0.747 / 0.455: one query either way, so plain
# per-channel int8. QUALITY_FLOOR guards a model where it does worse: then the float32 export is shipped.
QUALITY_FLOOR = 0.98
PROBES = ["Sync your notes across devices", "get my notes onto my phone", "how do I change the fonts",
          "python decorators", "a plugin that shows a calendar of daily notes", "kb",
          "when the core product copies what an add-on did", "markup academics use to write equations"]
NOTICE = f"""onnxruntime-web {ORT_WEB_VERSION} (https://www.npmjs.com/package/onnxruntime-web), files from dist/
MIT License. Copyright (c) Microsoft Corporation.

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE
USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


ORT_WEB = NpmPackage("onnxruntime-web", ORT_WEB_VERSION, ORT_WEB_INTEGRITY)


# --- the runtime (onnxruntime-web from npm, kb.vendor) ---

def runtime_files(fetch: bool = True) -> dict[str, bytes]:
    """{file name in search/model/: bytes} of the vendored runtime, plus its licence notice."""
    out = extract(ORT_WEB, ORT_WEB_FILES.get, ORT_WEB_FILES.values(), fetch)
    out["NOTICE-onnxruntime-web.txt"] = NOTICE.encode()
    return out


# --- the model (ONNX export of the sentence-transformers model) ---

@dataclass
class Exported:
    data: bytes  # the .onnx file
    precision: str  # "int8" or "float32"
    cosine: float  # mean cosine to torch float32 on PROBES


def model_key(model_dir: Path, model_id: str) -> str:
    """Cache key: model id, the weights' size and mtime (a replaced model re-exports), the recipe."""
    weights = sorted(p for p in model_dir.glob("*") if p.suffix in (".safetensors", ".bin"))
    stamp = [(p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in weights]
    return hashlib.sha256(json.dumps([model_id, stamp, EXPORT_RECIPE, OPSET]).encode()).hexdigest()[:12]


def _check_pooling(model_dir: Path) -> None:
    cfg = model_dir / "1_Pooling" / "config.json"
    if cfg.is_file() and not json.loads(cfg.read_text()).get("pooling_mode_mean_tokens", False):
        raise Unavailable(f"{model_dir}: the browser model does mean pooling only; this model pools otherwise")


def export_onnx(model_dir: Path, out: Path) -> None:
    """Transformer of the sentence-transformers folder -> ONNX (input_ids, attention_mask -> last_hidden_state)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import warnings

    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager", local_files_only=True).eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            # token_type_ids are all zero for one sentence: not an input, so the browser sends two tensors
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=torch.zeros_like(input_ids)).last_hidden_state

    ids = torch.tensor([[101, 7592, 2088, 102]])
    axes = {"batch": 0, "seq": 1}
    dyn = {n: {v: k for k, v in axes.items()} for n in ("input_ids", "attention_mask", "last_hidden_state")}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        # the TorchScript exporter (dynamo=False): one deterministic graph for BERT, no onnxscript rewrite
        torch.onnx.export(Encoder(), (ids, torch.ones_like(ids)), str(out), input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"], dynamic_axes=dyn, opset_version=OPSET, dynamo=False)


def quantize_int8(src: Path, dst: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # "consider pre-processing" is advice for CNNs
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True)


def onnx_encode(path: Path, ids_list: list[list[int]]) -> np.ndarray:
    """What the browser computes: mean of last_hidden_state over the tokens, L2-normalised (float64)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    out = []
    for ids in ids_list:
        a = np.array([ids], np.int64)
        h = sess.run(None, {"input_ids": a, "attention_mask": np.ones_like(a)})[0][0].astype(np.float64)
        v = h.mean(0)
        out.append(v / max(float(np.linalg.norm(v)), 1e-12))
    return np.array(out)


def reference_vectors(model_dir: Path, texts: list[str]) -> tuple[np.ndarray, list[list[int]]]:
    """torch float32 sentence-transformers vectors of `texts`, and their token ids with [CLS] … [SEP]."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    st.max_seq_length = MAX_TOKENS
    ref = st.encode(texts, normalize_embeddings=True, convert_to_numpy=True).astype(np.float64)
    ids = [st.tokenizer(t, truncation=True, max_length=MAX_TOKENS)["input_ids"] for t in texts]
    return ref, ids


def exported_model(model_dir: Path, model_id: str, cache_dir: Path) -> Exported:
    """The browser's ONNX model for `model_dir`, from `cache_dir` or exported now (and cached if it can be)."""
    _check_pooling(model_dir)
    key = model_key(model_dir, model_id)
    meta_file = cache_dir / f"browser-model-{key}.json"
    if meta_file.is_file():
        try:
            meta = json.loads(meta_file.read_text())
            data = (cache_dir / meta["file"]).read_bytes()
            if len(data) == meta["bytes"]:
                return Exported(data, meta["precision"], meta["cosine"])
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache entry: export again
    with tempfile.TemporaryDirectory(prefix="kb-onnx-") as tmp:
        fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        try:
            export_onnx(model_dir, fp32)
            quantize_int8(fp32, int8)
        except Exception as exc:  # noqa: BLE001 - any exporter failure means: keep the static encoder
            raise Unavailable(f"ONNX export of {model_dir} failed: {exc}") from exc
        ref, ids = reference_vectors(model_dir, PROBES)
        cosine = float(np.mean((onnx_encode(int8, ids) * ref).sum(1)))
        chosen, precision = (int8, "int8") if cosine >= QUALITY_FLOOR else (fp32, "float32")
        if precision == "float32":
            cosine = float(np.mean((onnx_encode(fp32, ids) * ref).sum(1)))
        exp = Exported(chosen.read_bytes(), precision, cosine)
    name = f"browser-model-{key}.{precision}.onnx"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        gi = cache_dir / ".gitignore"
        if not gi.exists():
            gi.write_text("# kb's caches: safe to delete\n*\n")
        for target, data in ((cache_dir / name, exp.data), (meta_file, json.dumps(
                {"file": name, "bytes": len(exp.data), "precision": precision, "cosine": round(cosine, 6),
                 "model_id": model_id}).encode())):
            part = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            part.write_bytes(data)
            os.replace(part, target)
    except OSError as exc:  # a read-only vault still builds; the next build exports again
        print(f"kb search: could not cache the browser model in {cache_dir}: {exc.strerror or exc}", file=sys.stderr)
    return exp


# --- the build step ---

def browser_files(model_dir: Path, model_id: str, cache_dir: Path, vocab: list[str]) -> tuple[dict[str, bytes], dict, str]:
    """Files under search/ for the full model, the manifest's "browser_model" entry, and a report line.

    Raises Unavailable (the caller warns and keeps the static encoder)."""
    runtime = runtime_files()
    exp = exported_model(model_dir, model_id, cache_dir)
    model = exp.data
    files = {f"model/{name}": data for name, data in runtime.items()}
    files[f"model/{MODEL_FILE}"] = model
    entry = {
        "model": f"model/{MODEL_FILE}", "runtime": f"model/{ORT_WEB_FILES['package/dist/ort.wasm.bundle.min.mjs']}",
        "wasm": f"model/{ORT_WEB_FILES['package/dist/ort-wasm-simd-threaded.wasm']}",
        "runtime_version": ORT_WEB_VERSION, "precision": exp.precision, "bytes": len(model),
        "runtime_bytes": sum(len(v) for v in runtime.values()), "max_tokens": MAX_TOKENS,
        "cls": vocab.index("[CLS]"), "sep": vocab.index("[SEP]"), "pooling": "mean",
    }
    report = (f"browser model: {model_id} as {exp.precision} ONNX, {len(model) / 1e6:.1f} MB "
              f"(cosine {exp.cosine:.4f} to float32) + onnxruntime-web {ORT_WEB_VERSION} "
              f"{entry['runtime_bytes'] / 1e6:.1f} MB")
    return files, entry, report


def add_browser_model(vault: Path, embedder: object, files: dict[str, bytes], report: list[str]) -> None:
    """emit_search's hook: add search/model/ and the manifest entry to `files`, or warn and leave them."""
    from kb.search.embed import MiniLM
    from kb.search.tokenize import WordPiece

    if not isinstance(embedder, MiniLM):
        report.append(f"warning: browser_model = \"full\" needs a sentence-transformers model, not "
                      f"{getattr(embedder, 'model_id', embedder)}; the search box uses the static encoder")
        return
    vocab = WordPiece.from_file(embedder.vocab_path).vocab
    try:
        extra, entry, line = browser_files(Path(embedder.vocab_path).parent, embedder.model_id, vault / ".kb-cache", vocab)
    except Unavailable as exc:
        report.append(f"warning: the full model cannot be shipped to the browser ({exc}); "
                      "the search box uses the static encoder")
        return
    manifest = json.loads(files["manifest.json"])
    manifest["browser_model"] = entry
    files.update(extra)
    files["manifest.json"] = json.dumps(manifest, indent=1, sort_keys=True).encode()
    report.append(line)


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, 6))


if __name__ == "__main__":
    sys.exit(fetch_command(sys.argv[1:], "kb.search.browser_model", ORT_WEB.label, runtime_files))
