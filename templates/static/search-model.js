// The full embedding model in the browser: `[search] browser_model = "full"` (kb/search/browser_model.py).
// search.js loads this file on the first focus of the search box, only when search/manifest.json has a
// "browser_model" entry. It imports the vendored onnxruntime-web (search/model/, wasm, one thread: no
// cross-origin isolation needed) and the ONNX model, then encodes a query as `kb search --full-model`:
// [CLS] word pieces [SEP] -> model -> mean over the tokens -> L2-normalise -> q = R·v with the OPQ
// rotation R of rotation.bin, so q scores against the same codes as the static encoder's vectors.
// Until the model is ready, and if it cannot load, the static encoder answers; the box says which.
(function (root) {
  "use strict";

  function FullModel(index, ort, session, rotation) {
    this.index = index;
    this.ort = ort;
    this.session = session;
    this.rotation = rotation;  // Float32Array, d × d, row-major
    this.queue = Promise.resolve();  // one run at a time on the session
  }

  // Token ids of the query with [CLS] and [SEP], truncated as the build truncates chunks.
  FullModel.prototype.ids = function (query) {
    var bm = this.index.m.browser_model;
    return this.index.tokenIds(query).then(function (ids) {
      if (!ids.length) return null;
      return [bm.cls].concat(ids.slice(0, bm.max_tokens - 2), [bm.sep]);
    });
  };

  // The unrotated, normalised sentence vector of token ids (what sentence-transformers returns).
  FullModel.prototype.embed = function (ids) {
    var self = this, ort = this.ort;
    var run = this.queue.then(function () {
      var n = ids.length;
      var inputIds = new ort.Tensor("int64", BigInt64Array.from(ids, function (t) { return BigInt(t); }), [1, n]);
      var mask = new ort.Tensor("int64", new BigInt64Array(n).fill(1n), [1, n]);
      return self.session.run({ input_ids: inputIds, attention_mask: mask });
    }).then(function (out) {
      var h = out.last_hidden_state, d = h.dims[2], t = h.dims[1], data = h.data, v = new Float64Array(d);
      for (var i = 0; i < t; i++) for (var x = 0; x < d; x++) v[x] += data[i * d + x];
      var norm = 0;
      for (x = 0; x < d; x++) { v[x] /= t; norm += v[x] * v[x]; }
      norm = Math.sqrt(norm);
      for (x = 0; x < d; x++) v[x] /= Math.max(norm, 1e-12);
      return v;
    });
    this.queue = run.catch(function () {});
    return run;
  };

  FullModel.prototype.rotate = function (v) {
    var d = v.length, r = this.rotation, q = new Float64Array(d);
    for (var i = 0; i < d; i++) {
      var s = 0;
      for (var j = 0; j < d; j++) s += r[i * d + j] * v[j];
      q[i] = s;
    }
    return q;
  };

  // search.js calls this instead of the static encoder once the model is ready.
  FullModel.prototype.encode = function (query) {
    var self = this;
    return this.ids(query).then(function (ids) {
      return ids ? self.embed(ids).then(function (v) { return self.rotate(v); }) : null;
    });
  };

  // The model's bytes, calling progress(fraction) as they arrive (every 10%).
  function download(href, rel, size, progress) {
    return fetch(href).then(function (r) {
      if (!r.ok) throw new Error("search/" + rel + ": HTTP " + r.status);
      if (!r.body || !r.body.getReader || !size) return r.arrayBuffer();
      var reader = r.body.getReader(), parts = [], got = 0, shown = 0;
      function pump() {
        return reader.read().then(function (step) {
          if (step.done) return new Blob(parts).arrayBuffer();
          parts.push(step.value);
          got += step.value.byteLength;
          if (got / size >= shown + 0.1) { shown = Math.floor(got / size * 10) / 10; progress(Math.min(shown, 1)); }
          return pump();
        });
      }
      return pump();
    });
  }

  function load(index, base, progress) {
    var bm = index.m.browser_model;
    var url = function (rel) { return new URL(base + rel, document.baseURI).href; };
    var model = download(url(bm.model), bm.model, bm.bytes, progress || function () {});
    return Promise.all([import(url(bm.runtime)), model, index.bin("rotation.bin", "rotation")]).then(function (parts) {
      var ort = parts[0];
      ort.env.wasm.numThreads = 1;  // threads need cross-origin isolation, which a static host rarely sets
      ort.env.wasm.wasmPaths = { wasm: url(bm.wasm) };
      return ort.InferenceSession.create(new Uint8Array(parts[1]), { executionProviders: ["wasm"] }).then(function (s) {
        return new FullModel(index, ort, s, parts[2].arrays.rotation);
      });
    });
  }

  // Starts loading once; `say` writes the search box's status line, `ready` re-runs the current query.
  function start(index, prefix, say, ready) {
    var bm = index.m && index.m.browser_model, input = document.getElementById("search-input");
    if (!bm || index.modelState) return index.modelLoad;
    var mb = ((bm.bytes + bm.runtime_bytes) / 1e6).toFixed(0);
    index.modelState = "loading";
    if (input) input.setAttribute("data-encoder", "loading");
    say("Loading the search model (" + mb + " MB, once)…");
    var t0 = performance.now();
    var progress = function (f) {
      if (index.modelState === "loading") say("Loading the search model (" + mb + " MB, once)… " + Math.round(f * 100) + "% of the model");
    };
    index.modelLoad = load(index, prefix + "search/", progress).then(function (fm) {
      index.fullModel = fm;
      index.modelState = "ready";
      index.modelLoadMs = performance.now() - t0;
      if (input) input.setAttribute("data-encoder", "full");
      say("Search model loaded.");
      ready();
    }, function (err) {
      index.modelState = "failed";
      index.modelError = String(err && err.message ? err.message : err);
      if (input) {
        input.setAttribute("data-encoder", "static");
        input.title = "The full search model could not be loaded: " + index.modelError;
        input.placeholder = "Search (quick encoder)…";
      }
      say("The full search model could not be loaded (" + index.modelError + "); using the quick encoder.");
    });
    return index.modelLoad;
  }

  root.kbSearchModel = { start: start, load: load, FullModel: FullModel };
})(typeof window !== "undefined" ? window : globalThis);
