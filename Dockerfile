# Builds the one mediaq binary; used by docker-compose.yml.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      pkg-config clang libclang-dev cmake nasm \
      libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --bin mediaq

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates curl libavcodec59 libavformat59 libavutil57 libswscale6 libswresample4 libavfilter8 libavdevice59 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/mediaq /usr/local/bin/mediaq
ENV MEDIAQ_DATA_DIR=/data MEDIAQ_LISTEN=0.0.0.0:8080
VOLUME /data
EXPOSE 8080
CMD ["mediaq"]
