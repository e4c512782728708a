// GraphQL Code Generator: typed documents for the app's operations, from the committed SDL.
// `npm run codegen` writes src/gql/; `npm run codegen:check` fails when that output would change
// (the SDL or an operation changed without regenerating), so the committed files never drift.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../schema/schema.graphql",
  documents: ["src/graphql/*.graphql"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        // the API's custom scalars as they travel in JSON
        scalars: { DateTime: "string", JSON: "unknown" },
        strictScalars: true,
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: false,
        dedupeFragments: true,
      },
    },
  },
  hooks: {},
};

export default config;
