// Reads {"introspection": <the data of an introspection answer>, "sdl": <schema.graphql>} on
// stdin and prints {"client": ..., "sdl": ...}: both schemas printed by graphql-js after a
// lexicographic sort, so the test can compare them (and see the difference when they differ).
"use strict";
const { buildClientSchema, buildSchema, lexicographicSortSchema, printSchema } = require("graphql");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const { introspection, sdl } = JSON.parse(input);
  const print = (schema) => printSchema(lexicographicSortSchema(schema));
  process.stdout.write(JSON.stringify({
    client: print(buildClientSchema(introspection)),
    sdl: print(buildSchema(sdl)),
  }));
});
