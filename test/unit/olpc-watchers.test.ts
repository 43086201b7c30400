import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ViewTarget } from "../../src/olpc/requests.js";
import { Watchers, type Watch } from "../../src/olpc/watchers.js";

function watch(
  device: string,
  target: ViewTarget,
  viewId: string | undefined,
  items: string[],
  size = Number.POSITIVE_INFINITY,
): Watch {
  return {
    device,
    viewer: device.slice(0, device.indexOf("/")),
    target,
    viewId,
    size,
    random: false,
    items: new Set(items),
  };
}

/** Watchers whose hooks record every link and unlink, in order. */
function recorded() {
  const log: string[] = [];
  const watchers = new Watchers({
    linked: (w, item) => log.push(`+ ${w.device} ${w.viewId ?? "draft"} ${item}`),
    unlinked: (w, item) => log.push(`- ${w.device} ${w.viewId ?? "draft"} ${item}`),
  });
  return { watchers, log };
}

describe("Watchers", () => {
  test("open links every item and indexes the watch by item and as a view", () => {
    const { watchers, log } = recorded();
    const draft = watch("a@x/1", "activity", undefined, ["p", "q"]);
    const view = watch("a@x/1", "activity", "7", ["q"], 5);
    assert.equal(watchers.open(draft), draft);
    assert.equal(watchers.open(view), view);
    assert.deepEqual(log, ["+ a@x/1 draft p", "+ a@x/1 draft q", "+ a@x/1 7 q"]);
    assert.deepEqual(watchers.containing("activity", "p"), [draft]);
    assert.deepEqual(watchers.containing("activity", "q"), [draft, view]);
    assert.deepEqual(watchers.containing("buddy", "q"), [], "targets are apart");
    assert.deepEqual([...watchers.views("activity")], [view], "a draft result set is no view");
    assert.deepEqual([...watchers.views("buddy")], []);
    assert.equal(watchers.deviceCount, 1);
  });

  test("reopening replaces the watch and links or unlinks only what changed", () => {
    const { watchers, log } = recorded();
    const first = watch("a@x/1", "activity", undefined, ["p", "q"]);
    watchers.open(first);
    log.length = 0;
    const second = watch("a@x/1", "activity", undefined, ["q", "r"]);
    assert.equal(watchers.open(second), second);
    assert.deepEqual(log, ["- a@x/1 draft p", "+ a@x/1 draft r"]);
    assert.deepEqual(watchers.containing("activity", "q"), [second], "the old watch is gone");
    assert.deepEqual(watchers.containing("activity", "p"), []);
  });

  test("reopening the same result set costs no link at all", () => {
    const { watchers, log } = recorded();
    watchers.open(watch("a@x/1", "buddy", undefined, ["b@x"]));
    log.length = 0;
    const again = watch("a@x/1", "buddy", undefined, ["b@x"]);
    watchers.open(again);
    assert.deepEqual(log, []);
    assert.deepEqual(watchers.containing("buddy", "b@x"), [again]);
  });

  test("a view replaces only the same device's view of the same kind and id", () => {
    const { watchers } = recorded();
    const mine = watch("a@x/1", "buddy", "1", ["b@x"]);
    const other = watch("a@x/2", "buddy", "1", ["b@x"]);
    const second = watch("a@x/1", "buddy", "2", ["b@x"]);
    const activities = watch("a@x/1", "activity", "1", ["b@x"]);
    for (const w of [mine, other, second, activities]) assert.equal(watchers.open(w), w);
    assert.deepEqual(watchers.containing("buddy", "b@x"), [mine, other, second]);
    assert.equal(watchers.deviceCount, 2);
  });

  test("close unlinks the watch's items; closing what is not open is a no-op", () => {
    const { watchers, log } = recorded();
    const view = watch("a@x/1", "activity", "3", ["p"], 2);
    watchers.open(view);
    log.length = 0;
    assert.equal(watchers.close("a@x/1", "activity", "4"), undefined);
    assert.equal(watchers.close("a@x/2", "activity", "3"), undefined);
    assert.equal(watchers.close("a@x/1", "buddy", "3"), undefined);
    assert.deepEqual(log, []);
    assert.equal(watchers.close("a@x/1", "activity", "3"), view);
    assert.deepEqual(log, ["- a@x/1 3 p"]);
    assert.deepEqual(watchers.containing("activity", "p"), []);
    assert.deepEqual([...watchers.views("activity")], []);
    assert.equal(watchers.deviceCount, 0);
  });

  test("dropDevice closes every watch of that device and no other", () => {
    const { watchers, log } = recorded();
    const a = watch("a@x/1", "activity", undefined, ["p"]);
    const b = watch("a@x/1", "buddy", "9", ["b@x"], 3);
    const c = watch("c@x/1", "activity", undefined, ["p"]);
    for (const w of [a, b, c]) watchers.open(w);
    log.length = 0;
    assert.deepEqual(watchers.dropDevice("a@x/1"), [a, b]);
    assert.deepEqual(log, ["- a@x/1 draft p", "- a@x/1 9 b@x"]);
    assert.deepEqual(watchers.containing("activity", "p"), [c]);
    assert.deepEqual(watchers.dropDevice("a@x/1"), [], "nothing left");
    assert.equal(watchers.deviceCount, 1);
  });

  test("add and remove link and unlink once, however often they are called", () => {
    const { watchers, log } = recorded();
    const view = watch("a@x/1", "activity", "1", [], 5);
    watchers.open(view);
    watchers.add(view, "p");
    watchers.add(view, "p");
    assert.deepEqual(watchers.containing("activity", "p"), [view]);
    watchers.remove(view, "p");
    watchers.remove(view, "p");
    assert.deepEqual(log, ["+ a@x/1 1 p", "- a@x/1 1 p"]);
    assert.deepEqual(watchers.containing("activity", "p"), []);
    assert.deepEqual([...view.items], []);
  });

  test("apply carries out a plan's changes in order", () => {
    const { watchers, log } = recorded();
    const view = watch("a@x/1", "buddy", "1", ["b@x"], 5);
    watchers.open(view);
    log.length = 0;
    watchers.apply([
      { watch: view, item: "b@x", held: false },
      { watch: view, item: "c@x", held: true },
    ]);
    assert.deepEqual(log, ["- a@x/1 1 b@x", "+ a@x/1 1 c@x"]);
    assert.deepEqual([...view.items], ["c@x"]);
  });

  test("a shared item set is copied before a change, never changed under its other holders", () => {
    const { watchers, log } = recorded();
    const shared: ReadonlySet<string> = new Set(["p", "q"]);
    const a = { ...watch("a@x/1", "activity", undefined, []), items: shared };
    const b = { ...watch("b@x/1", "activity", undefined, []), items: shared };
    watchers.open(a);
    watchers.open(b);
    log.length = 0;
    watchers.remove(a, "p");
    assert.deepEqual([...shared], ["p", "q"], "the shared set is untouched");
    assert.deepEqual([...a.items], ["q"]);
    assert.deepEqual([...b.items], ["p", "q"]);
    assert.deepEqual(watchers.containing("activity", "p"), [b]);
    watchers.add(a, "r");
    assert.deepEqual([...a.items], ["q", "r"]);
    assert.deepEqual(log, ["- a@x/1 draft p", "+ a@x/1 draft r"]);
  });

  test("reopening with the very same item set keeps the open watch, with the new criteria", () => {
    const { watchers, log } = recorded();
    const shared: ReadonlySet<string> = new Set(["p", "q"]);
    const first = { ...watch("a@x/1", "activity", undefined, []), items: shared };
    watchers.open(first);
    log.length = 0;
    const again = {
      ...watch("a@x/1", "activity", undefined, []),
      items: shared,
      activityCriteria: { id: "p" },
    };
    assert.equal(watchers.open(again), first);
    assert.deepEqual(first.activityCriteria, { id: "p" });
    assert.deepEqual(log, []);
    assert.deepEqual(watchers.containing("activity", "p"), [first]);
    assert.deepEqual(watchers.containing("activity", "q"), [first]);
    watchers.close("a@x/1", "activity", undefined);
    assert.deepEqual(log, ["- a@x/1 draft p", "- a@x/1 draft q"]);
  });

  test("works without hooks", () => {
    const watchers = new Watchers();
    const view = watch("a@x/1", "buddy", "1", ["b@x"], 5);
    watchers.open(view);
    watchers.remove(view, "b@x");
    assert.deepEqual(watchers.dropDevice("a@x/1"), [view]);
  });
});
