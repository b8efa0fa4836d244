from pathlib import Path

import pytest
import yaml
from haystack import Pipeline

from docqa.components.dense_retriever import DenseRetriever
from docqa.components.keyword_retriever import KeywordRetriever
from docqa.errors import PipelineFileError
from docqa.pipelines import ALLOWED_MODULES, PIPELINES_DIR, load_pipeline, load_query_pipeline, pipeline_file

pytestmark = pytest.mark.unit


def test_missing_pipeline_file(tmp_path):
    with pytest.raises(PipelineFileError, match="no such file"):
        load_pipeline(tmp_path / "none.yml")


def test_docqas_pipelines_are_found_by_the_readmes_paths_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("pipelines/query_bm25.yml", "query_bm25.yml", "query_bm25"):
        assert pipeline_file(name) == PIPELINES_DIR / "query_bm25.yml", name
        assert type(load_pipeline(name).get_component("retriever")).__name__ == "KeywordRetriever"
    (tmp_path / "pipelines").mkdir()
    mine = tmp_path / "pipelines" / "query_bm25.yml"
    mine.write_text((PIPELINES_DIR / "query_bm25.yml").read_text())
    assert pipeline_file("pipelines/query_bm25.yml") == Path("pipelines/query_bm25.yml"), "a file here comes first"
    with pytest.raises(PipelineFileError, match=r"pipelines/absent\.yml: no such file"):
        load_pipeline("pipelines/absent.yml")


def test_module_outside_the_allow_list_is_refused(tmp_path):
    path = tmp_path / "evil.yml"
    path.write_text(
        yaml.safe_dump(
            {"components": {"x": {"type": "os.system", "init_parameters": {}}}, "connections": [], "metadata": {}}
        )
    )
    with pytest.raises(PipelineFileError) as caught:
        load_pipeline(path)
    assert str(caught.value).endswith(
        "not a valid pipeline (Refusing to deserialize a class from module 'os': "
        "the module is not on the trusted-module allowlist)"
    )


def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text("components:\n  reader\n    type: docqa.components.reader.ExtractiveReader\n")
    with pytest.raises(
        PipelineFileError,
        match=r"broken\.yml: not valid YAML \(line 3, column 9: mapping values are not allowed here\)$",
    ):
        load_pipeline(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the file is empty"),
        ("# nothing yet\n", "the file is empty"),
        ("- reader\n- retriever\n", "the file is not a mapping of components and connections"),
        ("components: [reader]\n", "'components' is not a mapping of names to components"),
        ("components:\n  reader: 1\n", "component 'reader' is not a mapping with a 'type' and 'init_parameters'"),
        ("components: {}\nconnections: reader\n", "'connections' is not a list of sender/receiver pairs"),
    ],
)
def test_a_file_that_is_not_a_pipeline_is_one_line(tmp_path, text, problem):
    path = tmp_path / "odd.yml"
    path.write_text(text)
    with pytest.raises(PipelineFileError) as caught:
        load_pipeline(path)
    assert f"odd.yml: not a pipeline: {problem} (see " in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_folder_is_not_a_pipeline_file(tmp_path):
    with pytest.raises(PipelineFileError, match="a folder, not a pipeline YAML file"):
        load_pipeline(tmp_path)


@pytest.mark.parametrize(
    ("parameter", "reason"),
    [
        ("top_p: 3", "ExtractiveReader.__init__() got an unexpected keyword argument 'top_p'"),
        ("max_seq_len: lots", "not supported between instances of 'str' and 'int'"),
    ],
)
def test_a_wrong_component_parameter_is_named(tmp_path, parameter, reason):
    text = (PIPELINES_DIR / "query.yml").read_text()
    path = tmp_path / "edited.yml"
    data = yaml.safe_load(text)
    key, value = parameter.split(": ")
    data["components"]["reader"]["init_parameters"][key] = value if value == "lots" else int(value)
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PipelineFileError) as caught:
        load_pipeline(path)
    message = str(caught.value)
    assert "not a valid pipeline (Couldn't deserialize component 'reader' of class 'ExtractiveReader': " in message
    assert reason in message and "\n" not in message


@pytest.mark.parametrize(
    ("component", "class_name", "key", "value", "reason"),
    [
        ("retriever", "DenseRetriever", "top_k", -5, "top_k must be a whole number >= 1, not -5"),
        ("retriever", "DenseRetriever", "top_k", "five", "top_k must be a whole number >= 1, not 'five'"),
        ("retriever", "DenseRetriever", "num_candidates", 0, "num_candidates must be a whole number >= 1, not 0"),
        ("keyword_retriever", "KeywordRetriever", "top_k", 0, "top_k must be a whole number >= 1, not 0"),
        ("keyword_retriever", "KeywordRetriever", "top_k", True, "top_k must be a whole number >= 1, not True"),
        ("reader", "ExtractiveReader", "no_answer_threshold", "0.5", "must be a finite number, not '0.5'"),
        ("reader", "ExtractiveReader", "no_answer_threshold", None, "must be a finite number, not None"),
        ("reader", "ExtractiveReader", "no_answer_threshold", float("inf"), "must be a finite number, not inf"),
    ],
)
def test_a_bad_value_is_refused_when_the_pipeline_loads(tmp_path, component, class_name, key, value, reason):
    data = yaml.safe_load((PIPELINES_DIR / "query.yml").read_text())
    data["components"][component]["init_parameters"][key] = value
    path = tmp_path / "edited.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PipelineFileError) as caught:
        load_query_pipeline(path)
    message = str(caught.value)
    assert f"Couldn't deserialize component '{component}' of class '{class_name}'" in message
    assert reason in message and "\n" not in message


@pytest.mark.parametrize("name", ["query.yml", "indexing.yml"])
def test_shipped_pipelines_load(name):
    pipeline = load_pipeline(PIPELINES_DIR / name)
    assert pipeline.graph.number_of_nodes() > 0


@pytest.mark.parametrize("name", ["query.yml", "query_bm25.yml", "query_dense.yml", "query_hybrid.yml"])
def test_shipped_query_pipelines_are_query_pipelines(name):
    assert {"retriever", "reader"} <= set(load_query_pipeline(PIPELINES_DIR / name).graph.nodes)


def test_a_pipeline_that_is_not_a_query_pipeline_is_one_line(tmp_path):
    with pytest.raises(PipelineFileError) as indexing:
        load_query_pipeline(PIPELINES_DIR / "indexing.yml")
    assert "not a query pipeline: it has no component named 'retriever' and 'reader'" in str(indexing.value)
    foreign = tmp_path / "foreign.yml"
    foreign.write_text("foo: bar\n")
    with pytest.raises(PipelineFileError) as error:
        load_query_pipeline(foreign)
    assert str(error.value).startswith(f"pipeline {foreign}: not a ") and "\n" not in str(error.value)
    unfed = yaml.safe_load((PIPELINES_DIR / "query.yml").read_text())
    unfed["connections"] = [c for c in unfed["connections"] if c["receiver"] != "reader.documents"]
    path = tmp_path / "unfed.yml"
    path.write_text(yaml.safe_dump(unfed))
    with pytest.raises(PipelineFileError, match=r"no component feeds reader\.documents"):
        load_query_pipeline(path)


def test_query_pipeline_component_names():
    pipeline = load_pipeline(PIPELINES_DIR / "query.yml")
    assert {"embedder", "retriever", "reader"} <= set(pipeline.graph.nodes)


@pytest.mark.parametrize(
    "component", [DenseRetriever(top_k=7, num_candidates=300), DenseRetriever(), KeywordRetriever(top_k=4)]
)
def test_retrievers_round_trip_through_yaml(component):
    pipeline = Pipeline()
    pipeline.add_component("retriever", component)
    loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=ALLOWED_MODULES).get_component("retriever")
    assert type(loaded) is type(component)
    assert loaded.to_dict() == component.to_dict()
    assert vars(loaded).keys() == vars(component).keys()
    for name, value in component.to_dict()["init_parameters"].items():
        assert getattr(loaded, name) == value


@pytest.mark.parametrize("name", ["query.yml", "query_dense.yml", "query_bm25.yml"])
def test_question_inputs_reach_every_retriever_with_the_filters(name):
    from docqa.pipelines import question_inputs

    pipeline = load_pipeline(PIPELINES_DIR / name)
    filters = {"field": "meta.file_path", "operator": "in", "value": ["/d/a.txt"]}
    plain = question_inputs(pipeline, "Who?")
    limited = question_inputs(pipeline, "Who?", filters=filters)
    retrievers = {
        component for component, sockets in pipeline.inputs().items() if "filters" in sockets and component != "reader"
    }
    assert retrievers, "every query pipeline has a retriever"
    assert {name for name, inputs in limited.items() if "filters" in inputs} == retrievers
    assert all(limited[name]["filters"] == filters for name in retrievers)
    assert all("filters" not in inputs for inputs in plain.values())
    for component, inputs in limited.items():
        rest = {key: value for key, value in inputs.items() if key != "filters"}
        assert rest == plain.get(component, {}), "the question goes where it went without filters"
