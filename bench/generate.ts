/** Generates large, varied Dockerfiles for benchmarks and fuzzing seeds. */

const blocks = [
  (i: number) =>
    `# step ${i}: install things\nRUN apt-get update \\\n    && apt-get install -y pkg${i} \\\n    # inline comment\n    && rm -rf /var/lib/apt/lists/*\n`,
  (i: number) => `ENV VAR${i}=value${i} OTHER${i}="quoted value ${i}"\n`,
  (i: number) => `COPY --chown=1000:1000 --chmod=0644 src/file${i}.txt /app/file${i}.txt\n`,
  (i: number) => `RUN <<EOF${i}\necho line one ${i}\necho line two\nEOF${i}\n`,
  (i: number) => `LABEL com.example.item${i}="x" \\\n      com.example.other${i}=y\n`,
  (i: number) => `ARG ARG${i}=default${i}\n`,
  (i: number) => `RUN ["/bin/sh", "-c", "echo exec form ${i}"]\n`,
  (i: number) => `WORKDIR /work/${i}\n`,
];

/** A Dockerfile of about `lines` lines: stages of varied instructions. */
export function generateDockerfile(lines: number): string {
  let out = '# syntax=docker/dockerfile:1\nARG BASE=busybox:latest\n';
  let count = 2;
  let i = 0;
  while (count < lines) {
    if (i % 200 === 0) {
      const text = `\nFROM \${BASE} AS stage${i / 200}\n`;
      out += text;
      count += 2;
    }
    const block = blocks[i % blocks.length];
    if (!block) break;
    const text = block(i);
    out += text;
    count += text.split('\n').length - 1;
    i++;
  }
  return out;
}
