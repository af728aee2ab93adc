"""The step-through page in a real browser: headless Chromium driven by Selenium, one browser for the module.

Each page loads offline with no console error, Next moves the highlight through the nodes in the
engine's order, and the numbers on screen are the engine's gradients (to the 4 digits shown).
Skipped, with the reason, where Chromium, chromedriver or selenium is missing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from browser import HEIGHT, WIDTH, console_errors, missing, requests, start_chromium, stop_chromium
from explore_nets import NETS, W1_PATH, Sweep, engine_sweep, numbers_of

from minigrad.see import Exploration, explore

pytestmark = pytest.mark.skipif(missing() is not None, reason=f"browser tests need Chromium: {missing()}")

STATE = """
const titles = (sel) => [...document.querySelectorAll(sel)].map((g) => g.querySelector('title').textContent);
const nums = (el) => el ? [...el.querySelectorAll('.num')].map((n) => n.textContent) : [];
return {
  step: Number(document.body.dataset.step),
  counter: document.getElementById('counter').textContent,
  current: titles('#graph g.node.current').sort(),
  receives: titles('#graph g.node.receives').sort(),
  flow: titles('#graph g.edge.flow').sort(),
  arriving: nums(document.querySelector('#step .arriving .arrived')),
  shares: [...document.querySelectorAll('#step .arriving .shares .part')].map(nums),
  sent: [...document.querySelectorAll('#step .send')].map((s) => [s.dataset.id, nums(s.querySelector('.sent'))]),
};
"""


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    browser = start_chromium()
    yield browser
    stop_chromium(browser)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Exploration, Sweep]]:
    """Each net's page on disk, its Exploration and what the engine did (gradients after a real backward)."""
    folder = tmp_path_factory.mktemp("pages")
    out = {}
    for name, make in NETS.items():
        root = make()
        page = explore(root)
        out[name] = (page.save(folder / f"{name}.html"), page, engine_sweep(root))
    return out


def numbers(texts: list[str]) -> np.ndarray:
    return np.array([float(t.replace("\u2212", "-")) for t in texts])


def shown(values: np.ndarray, texts: list[str]) -> None:
    """The 4 significant digits on screen are the engine's numbers (or its norm, min, max and mean)."""
    np.testing.assert_allclose(numbers(texts), numbers_of(values), rtol=6e-4, atol=1e-300)


def open_page(driver: Any, path: Path) -> list[str]:
    """Load a page and return the URLs the browser requested for it."""
    requests(driver)
    driver.get(path.as_uri())
    return requests(driver)


def key(driver: Any, name: str, focused: bool = False) -> None:
    """Press a key (a name of selenium's Keys) on the page's body, or on the element that has the focus."""
    from selenium.webdriver.common.keys import Keys

    target = driver.switch_to.active_element if focused else driver.find_element("tag name", "body")
    target.send_keys(getattr(Keys, name))


def state(driver: Any) -> dict[str, Any]:
    return driver.execute_script(STATE)


@pytest.mark.parametrize("net", NETS)
def test_the_page_loads_offline_without_errors(driver, pages, net: str) -> None:
    path = pages[net][0]
    assert open_page(driver, path) == [path.as_uri()]
    assert console_errors(driver) == []
    assert state(driver)["step"] == 0


@pytest.mark.parametrize("net", NETS)
def test_next_walks_the_engine_order_showing_its_gradients(driver, pages, net: str) -> None:
    path, page, engine = pages[net]
    open_page(driver, path)
    for k, (id_, sent) in enumerate(zip(engine.ids, engine.sent)):
        now = state(driver)
        step = page.steps[k]
        assert now["step"] == k and now["counter"] == f"step {k + 1} of {len(engine.ids)}"
        assert now["current"] == sorted([id_, step["op_id"]])
        shown(engine.grads[id_], now["arriving"])
        assert len(now["shares"]) == (len(step["received"]) if len(step["received"]) > 1 else 0)
        for r, texts in zip(step["received"], now["shares"]):
            shown(engine.sent[r["step"]][r["input"]], texts)
        receiving = [s["id"] for s, g in zip(step["sends"], sent) if g is not None]
        assert now["receives"] == sorted(set(receiving))
        assert now["flow"] == sorted(f"{r}->{step['op_id']}" for r in receiving)
        for (shown_id, texts), send, g in zip(now["sent"], step["sends"], sent):
            assert shown_id == send["id"]
            if g is None:
                assert texts == []
            else:
                shown(g, texts)
        key(driver, "ARROW_RIGHT")
    assert state(driver)["step"] == len(engine.ids) - 1
    assert console_errors(driver) == []


def test_back_slider_keys_and_play(driver, pages) -> None:
    path, page, _ = pages["fare"]
    open_page(driver, path)
    find = lambda id_: driver.find_element("id", id_)  # noqa: E731
    assert not find("back").is_enabled()
    find("next").click()
    find("next").click()
    assert state(driver)["step"] == 2
    find("back").click()
    assert state(driver)["step"] == 1
    driver.execute_script("const s = document.getElementById('slider'); s.value = 5;"
                          "s.dispatchEvent(new Event('input'));")
    assert state(driver)["step"] == 5
    key(driver, "END")
    assert state(driver)["step"] == len(page.steps) - 1 and not find("next").is_enabled()
    key(driver, "ARROW_LEFT")
    assert state(driver)["step"] == len(page.steps) - 2
    key(driver, "HOME")
    assert state(driver)["step"] == 0
    find("play").click()
    assert find("play").text == "Pause"
    driver.execute_script("return new Promise((done) => setTimeout(done, 1150));")
    find("play").click()
    assert find("play").text == "Play" and state(driver)["step"] >= 1
    assert console_errors(driver) == []


def test_leaves_fill_in_with_their_grad(driver, pages) -> None:
    path, page, engine = pages["reuse"]
    open_page(driver, path)
    leaf = page.graph["leaves"][0]
    read = ("const l = document.querySelector('#leaves .leaf[data-id=\"' + arguments[0] + '\"]');"
            "return [l.querySelector('.state').textContent, [...l.querySelectorAll('.num')].map(n => n.textContent)];")
    seen = []
    for _ in page.steps:
        seen.append(driver.execute_script(read, leaf))
        key(driver, "ARROW_RIGHT")
    assert [s[0] for s in seen] == ["None", "share 1 of 3", "complete"]
    assert seen[0][1] == []
    shown(np.ones_like(engine.values[leaf]), seen[1][1])
    shown(engine.grads[leaf], seen[2][1])


def test_clicking_a_node_shows_its_value_gradient_path_and_formula(driver, pages) -> None:
    path, page, engine = pages["fare"]
    open_page(driver, path)
    w1 = next(id_ for id_, n in page.graph["nodes"].items() if n["name"] == "W1")
    driver.find_element("xpath", f"//*[local-name()='g'][*[local-name()='title' and text()='{w1}']]").click()
    panel = driver.find_element("id", "node")
    text = panel.text
    assert "W1" in text and "∂L/∂W1 = Xᵀ · ((∂L/∂Ŷ · W2ᵀ) ⊙ 1[Z1 > 0])" in text
    assert W1_PATH in text.replace("\n", " ")
    tables = panel.find_elements("css selector", "table.values")
    shown(engine.values[w1], [n.text for n in tables[0].find_elements("css selector", ".num")])
    shown(engine.grads[w1], [n.text for n in tables[1].find_elements("css selector", ".num")])
    relu = next(s for s in page.steps if s["op"] == "relu")
    driver.find_element("xpath", f"//*[local-name()='g'][*[local-name()='title' and text()='{relu['op_id']}']]").click()
    assert state(driver)["step"] == relu["index"]
    driver.find_element("id", "close").click()
    assert "Click a tensor" in driver.find_element("id", "node").text
    assert console_errors(driver) == []


def test_usable_at_1280_by_800(driver, pages) -> None:
    path, page, _ = pages["fare"]
    open_page(driver, path)
    key(driver, "ARROW_RIGHT")
    layout = driver.execute_script("""
        const box = (id) => document.getElementById(id).getBoundingClientRect().toJSON();
        const cur = document.querySelector('#graph g.node.current').getBoundingClientRect().toJSON();
        return {width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight,
                view: [innerWidth, innerHeight], graph: box('graph'), step: box('step'), leaves: box('leaves'),
                node: box('node'), slider: box('slider'), next: box('next'), current: cur,
                zoom: document.querySelector('#graph svg').getBoundingClientRect().width /
                      document.querySelector('#graph svg').viewBox.baseVal.width};
    """)
    assert layout["view"] == [WIDTH, HEIGHT]
    assert layout["width"] <= WIDTH and layout["height"] <= HEIGHT
    assert layout["graph"]["height"] >= 250 and layout["step"]["height"] >= 300
    for panel in ("step", "leaves", "node"):
        assert layout[panel]["width"] >= 300 and layout[panel]["bottom"] <= HEIGHT
    assert layout["slider"]["width"] >= 300 and layout["next"]["right"] <= WIDTH
    g, cur = layout["graph"], layout["current"]
    assert g["left"] <= cur["left"] and cur["right"] <= g["right"] and g["top"] <= cur["top"] <= g["bottom"]
    assert layout["zoom"] >= 0.74


def test_without_a_picture_the_page_still_steps(driver, pages, tmp_path, monkeypatch) -> None:
    from minigrad.see import explorer
    from minigrad.see.draw import RendererNotFoundError

    def no_renderer(*args: object, **kwargs: object) -> str:
        raise RendererNotFoundError("no Graphviz here")

    monkeypatch.setattr(explorer, "render_svg", no_renderer)
    path = explore(NETS["reuse"]()).save(tmp_path / "plain.html")
    assert open_page(driver, path) == [path.as_uri()]
    assert "no Graphviz here" in driver.find_element("id", "graph").text
    assert not driver.find_element("css selector", ".zoom").is_displayed()
    key(driver, "ARROW_RIGHT")
    now = state(driver)
    assert now["step"] == 1 and now["current"] == [] and len(now["sent"]) == 2
    assert console_errors(driver) == []


def test_the_jupyter_iframe_runs_the_same_page(driver, pages, tmp_path) -> None:
    _, page, engine = pages["reuse"]
    path = tmp_path / "notebook.html"
    path.write_text(f"<!DOCTYPE html><html><body>{page._repr_html_()}</body></html>", encoding="utf-8")
    assert open_page(driver, path) == [path.as_uri()]
    driver.switch_to.frame(driver.find_element("tag name", "iframe"))
    try:
        driver.find_element("id", "next").click()
        now = state(driver)
        assert now["step"] == 1 and now["current"] == sorted([engine.ids[1], page.steps[1]["op_id"]])
        key(driver, "ARROW_RIGHT", focused=True)
        assert state(driver)["step"] == 2
    finally:
        driver.switch_to.default_content()
    assert console_errors(driver) == []
