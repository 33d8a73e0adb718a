//! Streaming boundary tracing: rows go in one at a time as runs of foreground, finished
//! polygons come out as soon as the last row of their component has passed.
//!
//! A horizontal line `y` (the pixel corners between rows `y − 1` and `y`) carries a boundary
//! segment wherever the pixel above and the pixel below differ. Each segment is directed with
//! the foreground on its right (y down): rightward when the foreground is below, leftward when
//! it is above. Its two ends are corners where a vertical boundary run leaves or arrives, either
//! a run of the row above (still open from earlier lines) or of the row below (opened now).
//! Runs that pass straight through a line add no vertex, so every vertex is a corner.
//!
//! Open paths ("chains") are joined end to end as the sweep meets them; a chain whose head meets
//! its own tail is a closed ring. At a saddle (two foreground pixels touching only at a corner)
//! each vertical run pairs with the segment around the same pixel, so foreground is 4-connected
//! (the rule of [`super::trace_walk`]). A ring that passed a saddle twice is cut there into
//! simple rings that touch at one point, as OGC validity requires.
//!
//! Rings are grouped by the 4-connected component of the pixels on their right, tracked with a
//! union–find over the runs of consecutive rows; a component is complete, and its polygon
//! (one shell, its holes) is emitted, on the first line where no run of it continues. Memory is
//! bounded by the open chains and the rings of unfinished components, not by the image.

use std::collections::{HashMap, VecDeque};

use super::trace::{assemble, Polygon, Ring};

/// A run of foreground pixels `[x0, x1)` in one row, with the open ends of its vertical sides.
#[derive(Debug, Clone, Copy)]
struct Run {
    x0: u32,
    x1: u32,
    /// Compact component id (previous row) or union–find node (current row).
    comp: u32,
    /// Slot of the chain whose tail is the upward run on the left side (x = x0).
    left: u32,
    /// Slot of the chain whose head is the downward run on the right side (x = x1).
    right: u32,
}

#[derive(Debug, Default)]
struct Chain {
    v: VecDeque<(u32, u32)>,
    tail: u32,
    head: u32,
    saddle: bool,
}

/// Where a segment end connects: to a run of the previous row (index) or of the current one.
#[derive(Debug, Clone, Copy)]
enum Conn {
    Above(usize),
    Below(usize),
}

/// Streaming tracer for one binary layer.
#[derive(Debug, Default)]
pub struct Tracer {
    next_y: u32,
    prev: Vec<Run>,
    cur: Vec<Run>,
    chains: Vec<Chain>,
    free_chains: Vec<u32>,
    slots: Vec<u32>,
    free_slots: Vec<u32>,
    /// Rings of the components open on the previous row, by compact id.
    comps: Vec<Rope>,
    /// Rings closed on the current line, with the union–find node of their component.
    closed: Vec<(u32, Ring)>,
    parent: Vec<u32>,
    done: Vec<Polygon>,
}

const NONE: u32 = u32::MAX;

/// The rings of one component, in order, as pieces: a component that continues into the next
/// row moves as a whole and two that meet join their piece lists, so no ring is copied per
/// row (a component open over many rows with many closed holes stays linear).
type Rope = Vec<Vec<Ring>>;

/// Appends `more` to `rope`, keeping the order.
fn join_rope(rope: &mut Rope, more: Rope) {
    if rope.is_empty() {
        *rope = more;
    } else {
        rope.extend(more);
    }
}

impl Tracer {
    /// A tracer at row 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no component is open (the next row can start anywhere).
    pub fn is_idle(&self) -> bool {
        self.prev.is_empty()
    }

    /// The row the next [`push_row`](Self::push_row) call describes, unless idle.
    pub fn next_row(&self) -> u32 {
        self.next_y
    }

    /// Feeds row `y`: its foreground runs `[x0, x1)`, sorted, maximal (separated by background).
    /// Rows must come in order; rows between calls may be skipped only while the tracer is idle
    /// (they are taken as empty).
    pub fn push_row(&mut self, y: u32, runs: &[(u32, u32)]) {
        if self.is_idle() {
            self.next_y = y;
        } else {
            while self.next_y < y {
                self.line(&[]);
            }
        }
        debug_assert_eq!(self.next_y, y, "rows must come in order");
        self.line(runs);
    }

    /// Closes everything still open (the line below the last row fed).
    pub fn finish(&mut self) {
        if !self.is_idle() {
            self.line(&[]);
        }
    }

    /// Polygons completed so far (each 4-connected component of foreground, with its holes).
    pub fn take_done(&mut self) -> Vec<Polygon> {
        std::mem::take(&mut self.done)
    }

    fn new_slot(&mut self, chain: u32) -> u32 {
        match self.free_slots.pop() {
            Some(s) => {
                self.slots[s as usize] = chain;
                s
            }
            None => {
                self.slots.push(chain);
                self.slots.len() as u32 - 1
            }
        }
    }

    fn new_chain(&mut self, a: (u32, u32), b: (u32, u32), saddle: bool) -> u32 {
        let id = match self.free_chains.pop() {
            Some(c) => c,
            None => {
                self.chains.push(Chain::default());
                self.chains.len() as u32 - 1
            }
        };
        let c = &mut self.chains[id as usize];
        c.v.clear();
        c.v.push_back(a);
        c.v.push_back(b);
        c.saddle = saddle;
        id
    }

    fn find(&mut self, mut n: u32) -> u32 {
        while self.parent[n as usize] != n {
            let p = self.parent[n as usize];
            self.parent[n as usize] = self.parent[p as usize];
            n = p;
        }
        n
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // the smaller id becomes the root: previous-row components stay representatives
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi as usize] = lo;
        }
    }

    /// One segment on the current line, from `sv` to `ev`, entering from `inc` and leaving to
    /// `out`; `node` is the component of the pixels on its right.
    fn segment(
        &mut self,
        sv: (u32, u32),
        ev: (u32, u32),
        inc: Conn,
        out: Conn,
        node: u32,
        saddle: bool,
    ) {
        let chain = match inc {
            Conn::Above(k) => {
                let s = self.prev[k].right;
                let c = self.slots[s as usize];
                self.free_slots.push(s);
                let ch = &mut self.chains[c as usize];
                ch.v.push_back(sv);
                ch.v.push_back(ev);
                ch.saddle |= saddle;
                c
            }
            Conn::Below(j) => {
                let c = self.new_chain(sv, ev, saddle);
                let s = self.new_slot(c);
                self.chains[c as usize].tail = s;
                self.cur[j].left = s;
                c
            }
        };
        match out {
            Conn::Below(j) => {
                let s = self.new_slot(chain);
                self.chains[chain as usize].head = s;
                self.cur[j].right = s;
            }
            Conn::Above(k) => {
                let s = self.prev[k].left;
                let other = self.slots[s as usize];
                self.free_slots.push(s);
                if other == chain {
                    let ch = &mut self.chains[chain as usize];
                    let v: Vec<(u32, u32)> = std::mem::take(&mut ch.v).into();
                    let saddle = ch.saddle;
                    self.free_chains.push(chain);
                    if saddle {
                        for r in split_touching(&v) {
                            self.closed.push((node, r));
                        }
                    } else {
                        self.closed.push((node, widen(&v)));
                    }
                } else {
                    self.join(chain, other);
                }
            }
        }
    }

    /// `a`'s head meets `b`'s tail: one chain from `a`'s tail to `b`'s head.
    fn join(&mut self, a: u32, b: u32) {
        let (ai, bi) = (a as usize, b as usize);
        let saddle = self.chains[ai].saddle || self.chains[bi].saddle;
        if self.chains[ai].v.len() >= self.chains[bi].v.len() {
            let bv = std::mem::take(&mut self.chains[bi].v);
            let head = self.chains[bi].head;
            let ch = &mut self.chains[ai];
            ch.v.extend(bv);
            ch.head = head;
            ch.saddle = saddle;
            self.slots[head as usize] = a;
            self.free_chains.push(b);
        } else {
            let av = std::mem::take(&mut self.chains[ai].v);
            let tail = self.chains[ai].tail;
            let ch = &mut self.chains[bi];
            for p in av.into_iter().rev() {
                ch.v.push_front(p);
            }
            ch.tail = tail;
            ch.saddle = saddle;
            self.slots[tail as usize] = b;
            self.free_chains.push(a);
        }
    }

    /// The line above row `next_y`, between the previous row's runs and `runs`.
    fn line(&mut self, runs: &[(u32, u32)]) {
        let y = self.next_y;
        let kprev = self.comps.len() as u32;
        self.cur.clear();
        self.cur
            .extend(runs.iter().enumerate().map(|(j, &(x0, x1))| Run {
                x0,
                x1,
                comp: kprev + j as u32,
                left: NONE,
                right: NONE,
            }));
        self.parent.clear();
        self.parent.extend(0..kprev + runs.len() as u32);

        // merged sweep over the run ends of both rows
        let (np, nc) = (self.prev.len(), self.cur.len());
        // position of the next end in each row: run index and whether it is the end (x1)
        let (mut ip, mut pend) = (0usize, false);
        let (mut jc, mut cend) = (0usize, false);
        let (mut a, mut b) = (false, false);
        // the open segment: left x and its left connection
        let mut open: Option<(u32, Conn, bool)> = None;
        loop {
            let xp = (ip < np).then(|| {
                let r = &self.prev[ip];
                if pend {
                    r.x1
                } else {
                    r.x0
                }
            });
            let xc = (jc < nc).then(|| {
                let r = &self.cur[jc];
                if cend {
                    r.x1
                } else {
                    r.x0
                }
            });
            let x = match (xp, xc) {
                (None, None) => break,
                (Some(p), None) => p,
                (None, Some(c)) => c,
                (Some(p), Some(c)) => p.min(c),
            };
            let ev_p = (xp == Some(x)).then_some((ip, pend));
            let ev_c = (xc == Some(x)).then_some((jc, cend));
            let (na, nb) = (a ^ ev_p.is_some(), b ^ ev_c.is_some());
            let saddle = ev_p.is_some() && ev_c.is_some() && (a ^ b) && (na ^ nb);
            // connection of a segment end at x: for the segment on the left of x the run above
            // pairs with it when the previous row's run ends at x; on the right, when it starts
            let conn = |left_side: bool| match (ev_p, ev_c) {
                (Some((k, _)), None) => Conn::Above(k),
                (None, Some((j, _))) => Conn::Below(j),
                (Some((k, e)), Some((j, _))) => {
                    if e == left_side {
                        Conn::Above(k)
                    } else {
                        Conn::Below(j)
                    }
                }
                (None, None) => unreachable!("an event has at least one end"),
            };
            if a ^ b {
                // the open segment ends at x
                let (xl, lconn, lsad) = open.take().expect("a segment is open");
                let rconn = conn(true);
                let sad = lsad || saddle;
                if b {
                    // foreground below: rightward, right of it is the current row's run
                    debug_assert!(cend, "inside the current row's run jc");
                    let node = self.cur[jc].comp;
                    self.segment((xl, y), (x, y), lconn, rconn, node, sad);
                } else {
                    debug_assert!(pend, "inside the previous row's run ip");
                    let node = self.prev[ip].comp;
                    self.segment((x, y), (xl, y), rconn, lconn, node, sad);
                }
            } else if let (Some((k, pe)), Some((j, _)), false) = (ev_p, ev_c, na ^ nb) {
                // a vertical run passes straight through
                if pe {
                    self.cur[j].right = self.prev[k].right;
                } else {
                    self.cur[j].left = self.prev[k].left;
                }
            }
            if na ^ nb {
                open = Some((x, conn(false), saddle));
            }
            (a, b) = (na, nb);
            if let Some((k, e)) = ev_p {
                (ip, pend) = if e { (k + 1, false) } else { (k, true) };
            }
            if let Some((j, e)) = ev_c {
                (jc, cend) = if e { (j + 1, false) } else { (j, true) };
            }
            if a && b {
                let (pc, cc) = (self.prev[ip].comp, self.cur[jc].comp);
                self.union(pc, cc);
            }
        }
        debug_assert!(open.is_none());
        self.settle();
        std::mem::swap(&mut self.prev, &mut self.cur);
        self.next_y = y + 1;
    }

    /// Groups the rings of this line with their components, emits the components that ended,
    /// and renumbers the ones that continue into the new row.
    fn settle(&mut self) {
        let mut new_id: HashMap<u32, u32> = HashMap::new();
        let mut next: Vec<Rope> = Vec::new();
        for j in 0..self.cur.len() {
            let r = self.find(self.cur[j].comp);
            let id = *new_id.entry(r).or_insert_with(|| {
                next.push(Vec::new());
                next.len() as u32 - 1
            });
            self.cur[j].comp = id;
        }
        let mut ended: HashMap<u32, Rope> = HashMap::new();
        let mut order: Vec<u32> = Vec::new();
        let old = std::mem::take(&mut self.comps);
        let closed = std::mem::take(&mut self.closed);
        let items = old
            .into_iter()
            .enumerate()
            .map(|(k, rope)| (k as u32, rope))
            .chain(closed.into_iter().map(|(n, r)| (n, vec![vec![r]])));
        for (node, rope) in items {
            let r = self.find(node);
            match new_id.get(&r) {
                Some(&id) => join_rope(&mut next[id as usize], rope),
                None => join_rope(
                    ended.entry(r).or_insert_with(|| {
                        order.push(r);
                        Vec::new()
                    }),
                    rope,
                ),
            }
        }
        for r in order {
            let rings: Vec<Ring> = ended
                .remove(&r)
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect();
            let shells = rings.iter().filter(|r| ring_area2(r) > 0).count();
            if shells == 1 {
                let (mut shell, mut holes) = (Vec::new(), Vec::new());
                for ring in rings {
                    if ring_area2(&ring) > 0 {
                        shell = ring;
                    } else {
                        holes.push(ring);
                    }
                }
                self.done.push(Polygon { shell, holes });
            } else {
                // not expected from 4-connected components; place holes by containment
                self.done.extend(assemble(rings));
            }
        }
        self.comps = next;
    }
}

fn ring_area2(r: &Ring) -> i64 {
    super::trace::signed_area2(r)
}

fn widen(v: &[(u32, u32)]) -> Ring {
    v.iter().map(|&(x, y)| (x as i64, y as i64)).collect()
}

/// Cuts a closed ring at every vertex it visits twice into simple rings.
fn split_touching(v: &[(u32, u32)]) -> Vec<Ring> {
    let mut out = Vec::new();
    let mut path: Vec<(u32, u32)> = Vec::with_capacity(v.len());
    let mut seen: HashMap<(u32, u32), usize> = HashMap::new();
    for &p in v {
        if let Some(&i) = seen.get(&p) {
            let lp: Vec<(u32, u32)> = path.drain(i..).collect();
            for q in &lp {
                seen.remove(q);
            }
            out.push(widen(&lp));
        }
        seen.insert(p, path.len());
        path.push(p);
    }
    if !path.is_empty() {
        out.push(widen(&path));
    }
    out
}

/// Traces a whole in-memory mask with the streaming tracer.
pub fn trace(fg: &[bool], w: usize, h: usize) -> Vec<Polygon> {
    let mut t = Tracer::new();
    let mut runs = Vec::new();
    let mut out = Vec::new();
    for y in 0..h {
        runs.clear();
        let row = &fg[y * w..(y + 1) * w];
        let mut x = 0;
        while x < w {
            if row[x] {
                let s = x;
                while x < w && row[x] {
                    x += 1;
                }
                runs.push((s as u32, x as u32));
            } else {
                x += 1;
            }
        }
        if !runs.is_empty() || !t.is_idle() {
            t.push_row(y as u32, &runs);
        }
        out.extend(t.take_done());
    }
    t.finish();
    out.extend(t.take_done());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::trace_walk;
    use proptest::prelude::*;

    /// Rings rotated to start at their smallest vertex; holes and polygons sorted.
    fn normal(mut ps: Vec<Polygon>) -> Vec<Polygon> {
        fn rot(r: &mut Ring) {
            let i = (0..r.len()).min_by_key(|&i| (r[i].1, r[i].0)).unwrap_or(0);
            r.rotate_left(i);
        }
        for p in &mut ps {
            rot(&mut p.shell);
            p.holes.iter_mut().for_each(rot);
            p.holes.sort();
        }
        ps.sort_by(|a, b| a.shell.cmp(&b.shell));
        ps
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn streaming_equals_the_walk(w in 1usize..24, h in 1usize..24, density in 0.05f64..0.95, seed in any::<u64>()) {
            let mut rng = crate::sampling::Rng::new(seed);
            let fg: Vec<bool> = (0..w * h).map(|_| (rng.next_u64() as f64 / u64::MAX as f64) < density).collect();
            prop_assert_eq!(normal(trace(&fg, w, h)), normal(trace_walk(&fg, w, h)));
        }
    }
}
