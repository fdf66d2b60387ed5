"""Small generated vaults for the search tests (deterministic text, no model needed)."""

from __future__ import annotations

TOPICS = {
    "garden": "tomatoes compost soil watering seedlings greenhouse mulch harvest",
    "bread": "sourdough flour yeast oven dough knead crust starter",
    "python": "decorators generators asyncio typing pytest virtualenv import module",
    "sync": "phone laptop cloud devices mobile offline conflict backup",
    "music": "guitar chords scales rhythm metronome melody practice tuning",
}


def vault(n: int, sections: int = 1) -> dict[str, str]:
    """`n` notes cycling over the topics, each with `sections` headed sections."""
    files: dict[str, str] = {}
    names = list(TOPICS)
    for i in range(n):
        topic = names[i % len(names)]
        words = TOPICS[topic].split()
        body = [f"# {topic.title()} note {i}", f"An introduction about {topic} number {i}: {' '.join(words[:4])}."]
        for s in range(sections):
            w = words[(i + s) % len(words)]
            body.append(f"\n## Part {s} on {w}\n\nThis part discusses {w} and {words[(i + s + 3) % len(words)]} "
                        f"in the context of {topic}, item {i}-{s}.")
        files[f"{topic}/note-{i:03d}.md"] = "\n".join(body) + "\n"
    return files
