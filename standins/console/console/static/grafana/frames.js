// Grafana data frames (the /api/ds/query answer) to the series and tables the panels draw.

function labelText(labels) {
  const entries = Object.entries(labels || {});
  if (!entries.length) return '';
  return `{${entries.map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
}

// The series' name as Grafana's getFieldDisplayName picks it, for the cases our answers carry.
function displayName(field, frame, valueFieldCount) {
  const config = field.config || {};
  if (config.displayNameFromDS) return config.displayNameFromDS;
  if (config.displayName) return config.displayName;
  const name = frame.schema && frame.schema.name;
  if (name && valueFieldCount === 1) return name;
  const labels = labelText(field.labels);
  if (labels) return field.name && field.name !== 'Value' ? `${field.name} ${labels}` : labels;
  return field.name || name || (frame.schema && frame.schema.refId) || 'Value';
}

function fieldsOf(frame) {
  const fields = (frame.schema && frame.schema.fields) || [];
  const values = (frame.data && frame.data.values) || [];
  return fields.map((field, i) => ({ field, values: values[i] || [] }));
}

// [{name, refId, times, values}] for each number field of each frame that has a time field.
export function timeSeriesOf(frames) {
  const series = [];
  for (const frame of frames) {
    const columns = fieldsOf(frame);
    const time = columns.find((c) => c.field.type === 'time');
    if (!time) continue;
    const numbers = columns.filter((c) => c.field.type === 'number');
    for (const column of numbers) {
      series.push({
        name: displayName(column.field, frame, numbers.length),
        refId: frame.schema && frame.schema.refId,
        unit: column.field.config && column.field.config.unit,
        times: time.values,
        values: column.values,
      });
    }
  }
  return series;
}

// Every number field as a series, for stat panels (time or not).
export function numberSeriesOf(frames) {
  const series = [];
  for (const frame of frames) {
    const columns = fieldsOf(frame);
    const numbers = columns.filter((c) => c.field.type === 'number');
    for (const column of numbers) {
      const time = columns.find((c) => c.field.type === 'time');
      series.push({ name: displayName(column.field, frame, numbers.length), values: column.values, times: time ? time.values : null });
    }
  }
  return series;
}

export function hasData(frames) {
  return frames.some((frame) => fieldsOf(frame).some((c) => c.field.type !== 'time' && c.values.some((v) => v !== null && v !== undefined)));
}

// Frames as table rows: [{columns: [{name, type}], rows: [[...]]}], one per frame.
export function tablesOf(frames) {
  return frames.map((frame) => {
    const columns = fieldsOf(frame);
    const length = Math.max(0, ...columns.map((c) => c.values.length));
    const rows = [];
    for (let i = 0; i < length; i += 1) rows.push(columns.map((c) => c.values[i]));
    return {
      name: frame.schema && frame.schema.name,
      columns: columns.map((c) => ({ name: (c.field.config && c.field.config.displayNameFromDS) || c.field.name, type: c.field.type, unit: c.field.config && c.field.config.unit })),
      rows,
    };
  });
}

const REDUCERS = {
  lastNotNull: (v) => { for (let i = v.length - 1; i >= 0; i -= 1) if (v[i] !== null && v[i] !== undefined) return v[i]; return null; },
  last: (v) => (v.length ? v[v.length - 1] : null),
  firstNotNull: (v) => v.find((x) => x !== null && x !== undefined) ?? null,
  first: (v) => (v.length ? v[0] : null),
  mean: (v) => { const n = v.filter((x) => x !== null && x !== undefined); return n.length ? n.reduce((a, b) => a + b, 0) / n.length : null; },
  max: (v) => { const n = v.filter((x) => x !== null && x !== undefined); return n.length ? Math.max(...n) : null; },
  min: (v) => { const n = v.filter((x) => x !== null && x !== undefined); return n.length ? Math.min(...n) : null; },
  sum: (v) => { const n = v.filter((x) => x !== null && x !== undefined); return n.length ? n.reduce((a, b) => a + b, 0) : null; },
  count: (v) => v.length,
  range: (v) => { const n = v.filter((x) => x !== null && x !== undefined); return n.length ? Math.max(...n) - Math.min(...n) : null; },
};

export function reduce(values, calc) {
  const reducer = REDUCERS[calc] || REDUCERS.lastNotNull;
  const value = reducer((values || []).map((v) => (v === null || v === undefined ? v : Number(v))));
  return value === undefined ? null : value;
}
