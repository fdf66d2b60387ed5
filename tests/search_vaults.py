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


# Seven notes on unrelated subjects, for queries that share no word with the target's title.
SEMANTIC_VAULT = {
    "sync.md": "# Sync your notes across devices\n\nKeep the vault identical on the laptop and the phone with a cloud "
               "service. When two devices edit offline, conflicts appear.\n\n## Mobile app\n\nOpen the vault from "
               "iCloud or Dropbox in the mobile app.\n",
    "bread.md": "# Baking sourdough\n\nFeed the starter, knead the dough and bake it in a hot oven.\n",
    "garden.md": "# Growing tomatoes\n\nWater the seedlings, add compost and mulch in the greenhouse.\n",
    "python.md": "# Python decorators\n\nA decorator wraps a function; functools.wraps keeps its name.\n",
    "music.md": "# Guitar practice\n\nPlay scales with a metronome and learn chords slowly.\n",
    "themes.md": "# Custom CSS themes\n\nChange colours and fonts with a CSS snippet in the appearance settings.\n",
    "graph.md": "# The graph view\n\nSee links between notes as a network of nodes.\n",
}


# Two notes titled alike (case aside) in different folders, one folder with an HTML-special name, both
# linking to a third note that links back to them; their tags and dates put them on tag pages, the home
# page and the archive. "Unique" is the control: a title no other note has.
SAME_TITLES = {
    "people/Gnopps.md": "---\ntags: [people]\ndate: 2024-02-01\n---\n# Obsidian\n\nA person who writes Obsidian "
                        "plugins, see [[hub]].\n",
    "R&D/Obsidian.md": "---\ntags: [people]\ndate: 2024-02-03\n---\n# obsidian\n\nThe Obsidian app for notes and "
                       "plugins, see [[hub]].\n",
    "hub.md": "# Hub\n\nAbout Obsidian plugins: [[people/Gnopps]] and [[R&D/Obsidian]], and [[unique]].\n",
    "unique.md": "---\ntags: [people]\n---\n# Unique\n\nObsidian plugins again, see [[hub]].\n",
}
