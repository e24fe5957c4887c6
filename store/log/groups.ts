/**
 * {@linkcode CommitGroups}: what waits for the log writer (writer.ts) to
 * make changes durable. Changes written in one write make a group, whose
 * commit resolves once they are durable (`true`), or once they failed or
 * were undone (`false`); and each write not yet durable keeps the undo log's
 * mark from before it, so that once it is durable its undo entries are
 * dropped. The writer says when a write starts, ends and becomes durable;
 * this file keeps who waits for which.
 *
 * @module
 */

import type { UndoLog } from "./undo.ts";

/** Changes written together, resolved together (true: durable), ending at `lsn`. */
type Group = PromiseWithResolvers<boolean> & { lsn: number };

/** The commits waiting on a log writer, and the undo marks of its writes not yet durable. */
export class CommitGroups {
  readonly #undo: UndoLog;
  // [lsn, undo mark] of each write not yet durable, oldest first.
  readonly #marks: number[] = [];
  // The group of the changes not yet written, once a commit() waits for them.
  #next: Group | undefined;
  // The group being written, and (always) the groups written and not synced.
  #writing: Group | undefined;
  readonly #unsynced: Group[] = [];

  /** Drops entries of `undo` once their changes are durable. */
  constructor(undo: UndoLog) {
    this.#undo = undo;
  }

  /** Whether a commit() waits for changes not yet written. */
  get waitingForNext(): boolean {
    return this.#next !== undefined;
  }

  /** What a commit() of changes not yet written waits for: the next write's group. */
  next(): Promise<boolean> {
    return (this.#next ??= newGroup()).promise;
  }

  /**
   * What a commit() with nothing pending waits for: the write in flight, or
   * (always) the last write not synced yet; `undefined` if nothing is.
   */
  inFlight(): Promise<boolean> | undefined {
    if (this.#writing !== undefined) return this.#writing.promise;
    return this.#unsynced.length > 0
      ? this.#unsynced[this.#unsynced.length - 1]!.promise
      : undefined;
  }

  /**
   * A write of the pending changes begins: their group is in flight. Every
   * write has a group, even one whose commit() is yet to come: a commit()
   * while it is in flight (or, for always, not yet synced) must wait for it,
   * not find nothing pending and return at once.
   */
  startWrite(): Group {
    const group = this.#writing = this.#next ?? newGroup();
    this.#next = undefined;
    return group;
  }

  /** The write in flight has ended (it worked, or a failure since made it moot). */
  writeEnded(): void {
    this.#writing = undefined;
  }

  /**
   * `group`'s write worked, ending at `lsn`; `undoMark` was the undo log's
   * mark before it. With `awaitsSync` (always) its commit waits for a sync.
   */
  written(group: Group, lsn: number, undoMark: number, awaitsSync: boolean): void {
    this.#marks.push(lsn, undoMark);
    group.lsn = lsn;
    if (awaitsSync) this.#unsynced.push(group);
  }

  /** Everything up to `lsn` is durable: forget how to undo it, and resolve its groups. */
  durable(lsn: number): void {
    const marks = this.#marks;
    let i = 0;
    let undoMark = -1;
    while (i < marks.length && marks[i]! <= lsn) {
      undoMark = marks[i + 1]!;
      i += 2;
    }
    if (i > 0) marks.splice(0, i);
    if (undoMark >= 0) this.#undo.dropTo(undoMark);
    const unsynced = this.#unsynced;
    let done = 0;
    while (done < unsynced.length && unsynced[done]!.lsn <= lsn) unsynced[done++]!.resolve(true);
    if (done > 0) unsynced.splice(0, done);
  }

  /** After the close: the changes not yet written were undone, and their commit hears so. */
  abandonNext(): void {
    this.#next?.resolve(false);
    this.#next = undefined;
  }

  /** A write or sync failed and every change not yet durable was undone: every commit hears so. */
  failAll(): void {
    this.#marks.length = 0;
    for (const group of [this.#writing, this.#next, ...this.#unsynced]) group?.resolve(false);
    this.#writing = this.#next = undefined;
    this.#unsynced.length = 0;
  }
}

/** A new group: changes that will be written, and resolved, together. */
function newGroup(): Group {
  return Object.assign(Promise.withResolvers<boolean>(), { lsn: 0 });
}
