CREATE DATABASE warehouse OWNER weir;
