# voc: multi-stage build. The IPADIC dictionary is built at image build time from Debian's
# mecab-ipadic, so containers start without building anything.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends mecab-ipadic pkg-config libssl-dev cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin voc
# Tagging nothing builds the dictionary into the cache dir once.
RUN XDG_CACHE_HOME=/opt/voc-cache ./target/release/voc tag < /dev/null \
 && mv /opt/voc-cache/voc/ipadic-2.7.0-lindera-6 /opt/voc-dict

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 voc
COPY --from=build /src/target/release/voc /usr/local/bin/voc
COPY --from=build /opt/voc-dict /opt/voc/dict
COPY config/rules /opt/voc/rules
ENV VOC_DICT=/opt/voc/dict \
    VOC_RULES=/opt/voc/rules/ja-contact-center.toml \
    VOC_LOG=info
USER voc
ENTRYPOINT ["voc"]
CMD ["--help"]
