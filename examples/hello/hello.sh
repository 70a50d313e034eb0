#!/bin/sh
echo "Hello from tsbuild!"
