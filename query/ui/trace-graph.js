// A graph of services' operations drawn in SVG, no library: nodes in rows by their depth in the span tree (the root
// on top, as Jaeger UI's trace graph), each call an arrow from caller to callee with its count. The trace view draws
// one trace's graph with it, the compare view two traces' merged graph.
import { colorOf, svg } from './dom.js';

const NODE_W = 230;
const NODE_H = 64;
const GAP_X = 28;
const GAP_Y = 56;
const PAD = 16;
/** Characters that fit a node's width at the graph's font size (about 6.7 px each at 12 px). */
const FIT = 31;

let drawn = 0;

const fit = (text) => (text.length > FIT ? `${text.slice(0, FIT - 1)}…` : text);

/**
 * `graph`: `{nodes: [{key, service, operation, depth}], edges: [{from, to}]}`. `describe(node)` gives the node's
 * third line and a class (`{text, className}`); `edgeLabel(edge)` the text on an arrow.
 */
export function graphSvg(graph, { describe, edgeLabel }) {
  const id = `arrow-${++drawn}`;
  const layers = new Map();
  for (const node of graph.nodes) (layers.get(node.depth) ?? layers.set(node.depth, []).get(node.depth)).push(node);
  const depths = [...layers.keys()].sort((a, b) => a - b);
  const widest = Math.max(1, ...[...layers.values()].map((l) => l.length));
  const width = PAD * 2 + widest * NODE_W + (widest - 1) * GAP_X;
  const height = PAD * 2 + depths.length * NODE_H + Math.max(0, depths.length - 1) * GAP_Y;
  const place = new Map();
  depths.forEach((depth, row) => {
    const layer = layers.get(depth);
    const used = layer.length * NODE_W + (layer.length - 1) * GAP_X;
    layer.forEach((node, i) => place.set(node.key, { x: (width - used) / 2 + i * (NODE_W + GAP_X), y: PAD + row * (NODE_H + GAP_Y), row }));
  });

  const edges = graph.edges.map((edge) => {
    const a = place.get(edge.from);
    const b = place.get(edge.to);
    let d;
    let label;
    if (edge.from === edge.to) {
      // A call of an operation to itself: a loop on the node's right side.
      const x = a.x + NODE_W;
      d = `M${x},${a.y + 18} C${x + 34},${a.y + 4} ${x + 34},${a.y + NODE_H - 4} ${x},${a.y + NODE_H - 18}`;
      label = { x: x + 30, y: a.y + NODE_H / 2 };
    } else if (b.row > a.row) {
      const [x1, y1, x2, y2] = [a.x + NODE_W / 2, a.y + NODE_H, b.x + NODE_W / 2, b.y];
      const bend = (y2 - y1) / 2;
      d = `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}`;
      label = { x: (x1 + x2) / 2, y: (y1 + y2) / 2 };
    } else {
      // Upwards or sideways (a span under a deeper node of the same operation): round the right sides.
      const [x1, y1, x2, y2] = [a.x + NODE_W, a.y + NODE_H / 2, b.x + NODE_W, b.y + NODE_H / 2];
      const out = Math.max(x1, x2) + 40;
      d = `M${x1},${y1} C${out},${y1} ${out},${y2} ${x2},${y2}`;
      label = { x: out - 10, y: (y1 + y2) / 2 };
    }
    const text = edgeLabel(edge);
    // A backing under the label, so the arrow does not run through its words (about 6.5 px a character at 11 px).
    const backW = text.length * 6.5 + 8;
    return svg('g', { class: 'graph-edge', 'data-from': edge.from, 'data-to': edge.to },
      svg('path', { d, 'marker-end': `url(#${id})` }),
      svg('rect', { x: label.x - backW / 2, y: label.y - 8, width: backW, height: 16, rx: 3, class: 'graph-edge-back' }),
      svg('text', { x: label.x, y: label.y, 'text-anchor': 'middle', dy: '0.35em', class: 'graph-edge-label' }, text));
  });

  const nodes = graph.nodes.map((node) => {
    const { x, y } = place.get(node.key);
    const { text, className } = describe(node);
    return svg('g', { class: `graph-node${className ? ` ${className}` : ''}`, 'data-key': node.key, transform: `translate(${x},${y})` },
      svg('title', {}, `${node.service}: ${node.operation}\n${text}`),
      svg('rect', { width: NODE_W, height: NODE_H, rx: 6 }),
      svg('rect', { width: 5, height: NODE_H, rx: 2, fill: colorOf(node.service), class: 'graph-node-service-mark' }),
      svg('text', { x: 14, y: 19, class: 'graph-node-service' }, fit(node.service)),
      svg('text', { x: 14, y: 37, class: 'graph-node-op' }, fit(node.operation)),
      svg('text', { x: 14, y: 54, class: 'graph-node-facts' }, fit(text)),
    );
  });

  return svg('svg', { class: 'trace-graph', viewBox: `0 0 ${width + 40} ${height}`, width: width + 40, height, role: 'img', 'aria-label': `${graph.nodes.length} operations, ${graph.edges.length} calls` },
    svg('defs', {}, svg('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'graph-arrow' }))),
    edges, nodes);
}
