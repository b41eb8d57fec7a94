// Changes @grafana/levitate reports that are not incompatibilities (scripts/levitate.mjs copies this file beside the
// standalone install it checks). Each entry is an exact export name, with why it is safe.
module.exports = {
  removals: [],
  changes: [
    // @grafana/data 13 declares DataFrameJSON, the parameter of push, as a type alias instead of an interface of the
    // same fields; levitate reports the parameter type as changed, though the values the plugin passes are the same.
    'StreamingDataFrame.push',
  ],
  additions: [],
};
