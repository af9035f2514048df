// Grafana's dashboard grid: 24 columns, rows of 30 px with 8 px gaps (GRID_CELL_HEIGHT,
// GRID_CELL_VMARGIN), panels placed by gridPos. Rows group the panels below them; a collapsed
// row keeps its panels in `panels`, and everything under it moves up by their height.

export const GRID_COLUMNS = 24;

function byPosition(a, b) {
  const pa = a.gridPos || {};
  const pb = b.gridPos || {};
  return (pa.y ?? 0) - (pb.y ?? 0) || (pa.x ?? 0) - (pb.x ?? 0);
}

// Sections in page order: {row: panel|null, panels: [...]} (the row's, collapsed or not).
export function sectionsOf(panels) {
  const sorted = [...(panels || [])].sort(byPosition);
  const sections = [{ row: null, panels: [] }];
  for (const panel of sorted) {
    if (panel.type === 'row') {
      sections.push({ row: panel, panels: [...(panel.panels || [])].sort(byPosition), collapsed: Boolean(panel.collapsed) });
    } else {
      sections[sections.length - 1].panels.push(panel);
    }
  }
  return sections.filter((s) => s.row || s.panels.length);
}

function pos(panel) {
  const g = panel.gridPos || {};
  const w = Math.min(GRID_COLUMNS, Math.max(1, g.w ?? 12));
  return { x: Math.min(GRID_COLUMNS - w, Math.max(0, g.x ?? 0)), y: Math.max(0, g.y ?? 0), w, h: Math.max(1, g.h ?? 8) };
}

// [{panel, x, y, w, h, rowOf}] placed top to bottom; rows take one grid row; panels of a
// collapsed section are left out.
export function placeSections(sections) {
  const placed = [];
  let cursor = 0;
  for (const section of sections) {
    let top = cursor;
    if (section.row) {
      placed.push({ panel: section.row, x: 0, y: cursor, w: GRID_COLUMNS, h: 1, isRow: true, section });
      top = cursor + 1;
    }
    const children = section.panels.map(pos);
    const minY = children.length ? Math.min(...children.map((p) => p.y)) : 0;
    let bottom = top;
    if (!section.row || !section.collapsed) {
      section.panels.forEach((panel, i) => {
        const p = children[i];
        const y = section.row ? top + (p.y - minY) : p.y;
        placed.push({ panel, x: p.x, y, w: p.w, h: p.h, section });
        bottom = Math.max(bottom, y + p.h);
      });
    }
    cursor = Math.max(bottom, top);
  }
  return placed;
}

export function gridStyle(item) {
  return { gridColumn: `${item.x + 1} / span ${item.w}`, gridRow: `${item.y + 1} / span ${item.h}` };
}
