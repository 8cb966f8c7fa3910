/** C sources imported `with { type: "text" }` (src/context/_native.ts): their text. */
declare module "*.c" {
  const source: string;
  export default source;
}
