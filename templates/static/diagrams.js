// Draws the page's ```mermaid blocks with mermaid, which the build copied from npm into
// static/mermaid/ (kb.emit.diagrams). Only pages with a diagram load this. Until it is drawn,
// without JavaScript, or when mermaid cannot read a block, the block shows its source.
import mermaid from "./mermaid/mermaid.esm.min.mjs";

const figures = [...document.querySelectorAll('figure[data-diagram="mermaid"]')];
const root = document.documentElement;
let round = 0;

async function draw() {
  const dark = root.dataset.theme === "dark";
  // strict: labels are text (no HTML, no click handlers running note-supplied code)
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: dark ? "dark" : "default",
                       // the dark theme's edge labels are #ccc on #585858 (4.4:1): a darker box reads at AA
                       themeVariables: dark ? { edgeLabelBackground: "#333333" } : {},
                       suppressErrorRendering: true });
  round += 1;
  for (const [i, figure] of figures.entries()) {
    const code = figure.querySelector("pre code");
    if (!code) continue;
    const caption = figure.querySelector("figcaption");
    let box = figure.querySelector(".diagram");
    try {
      const { svg } = await mermaid.render(`kb-mermaid-${round}-${i}`, code.textContent);
      if (!box) {
        box = document.createElement("div");
        box.className = "diagram";
        figure.append(box);
      }
      box.innerHTML = svg;
      // what a screen reader gets: a named picture, and the source (its text alternative) one
      // click away for everyone, in place of the caption that said the page shows only the source
      box.firstElementChild?.setAttribute("aria-label", "Diagram; its Mermaid source follows");
      keepSource(figure, code.closest("pre"));
      figure.classList.add("drawn");
    } catch (err) {
      figure.classList.remove("drawn");
      box?.remove();
      const why = String((err && err.message) || err).split("\n")[0];
      if (caption) caption.textContent = `Mermaid could not draw this diagram (${why}); its source:`;
    }
  }
}

function keepSource(figure, pre) {
  if (!pre || pre.parentElement.tagName === "DETAILS") return;
  const details = document.createElement("details");
  details.className = "diagram-source";
  const summary = document.createElement("summary");
  summary.textContent = "Mermaid source";
  details.append(summary);
  details.append(pre);
  figure.append(details);  // below the drawing
}

// one drawing at a time: a theme toggle during a draw waits for it, then draws in the other palette
let drawing = draw();
new MutationObserver(() => { drawing = drawing.then(draw); })
  .observe(root, { attributes: true, attributeFilter: ["data-theme"] });
